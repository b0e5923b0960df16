"""Notifications: in-app notices for each user and an outbox of e-mail, sent over SMTP when configured."""
from flask import Blueprint

bp = Blueprint("notifications", __name__, url_prefix="/notifications", template_folder="templates")


def init_app(app) -> None:
    from flask_babel import lazy_gettext as _l
    from flask_login import current_user

    from app.auth.roles import Permission
    from app.extensions import db
    from app.main import register_nav
    from app.notifications import jobs, services, views  # noqa: F401  (routes)
    from app.scheduling.registry import register_job

    app.register_blueprint(bp)
    register_nav("notifications.outbox", _l("Outbox"), Permission.VIEW_OUTBOX, order=90)
    register_job(
        "notifications.deliver_outbox",
        jobs.deliver_outbox_job,
        trigger="interval",
        minutes=1,
        description=_l("Send queued e-mail"),
    )

    @app.context_processor
    def notice_helpers():
        def unread_notice_count() -> int:
            if not current_user.is_authenticated:
                return 0
            return services.unread_count(db.session, current_user)

        return {"unread_notice_count": unread_notice_count}
