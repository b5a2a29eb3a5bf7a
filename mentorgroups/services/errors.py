"""Errors a service raises; each carries a message fit to show to the person acting."""


class ServiceError(Exception):
    """A rule refused the action. `str(error)` is the message for the person."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(ServiceError):
    """The thing does not exist, or the actor may not know it exists (same answer)."""


class PermissionDenied(ServiceError):
    """The actor may see the thing but not do this to it."""


class PlanLimitReached(ServiceError):
    """The school's plan allows no more of something (`limit` names it: "groups"), with the
    plan, its maximum and how many the school has, for an API to name the limit."""

    def __init__(self, message: str, *, limit: str, plan: str, maximum: int, used: int):
        super().__init__(message)
        self.limit, self.plan, self.maximum, self.used = limit, plan, maximum, used


class FormErrors(ServiceError):
    """Several fields refused at once: `errors` maps each field to its message, so a form can
    show every one of them together rather than one per try."""

    def __init__(self, errors: dict[str, str]):
        super().__init__(" ".join(errors.values()))
        self.errors = errors
