"""Bootstrap shell: replaced by its package's real init_app during this session."""


def init_app(app) -> None:
    pass
