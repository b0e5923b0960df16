"""Bootstrap shell: replaced by the real module during this session."""


def init_app(app) -> None:
    pass
