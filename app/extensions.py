"""Flask extensions, created without an app and bound in create_app()."""
from flask_babel import Babel
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.session import Session as _FlaskSession
from flask_wtf import CSRFProtect

from app.db import Base


class Session(_FlaskSession):
    """A bind given to the session explicitly (a test's outer connection) wins over the app's engine.

    Flask-SQLAlchemy's get_bind always picks an engine by bind key, which would let a test's commits escape
    its rolled-back outer transaction.
    """

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        if bind is None and self.bind is not None:
            return self.bind
        return super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)


db = SQLAlchemy(model_class=Base, session_options={"class_": Session})
migrate = Migrate()
csrf = CSRFProtect()
login_manager = LoginManager()
babel = Babel()
