"""One error hierarchy: each error knows its HTTP status and its websocket close code.

Close codes in the 4000s are summitpad's own; they mirror HTTP statuses where one fits, so a
client log reading 4422 means the same as an HTTP 422. The stock y-websocket client never
reconnects after a code in 4400-4499, so those are for clients that would only fail again; a
client closed for being too slow or too fast gets a 45xx code and comes back.
"""

from __future__ import annotations

from aiohttp import WSCloseCode

CLOSE_GOING_AWAY = WSCloseCode.GOING_AWAY  # 1001: server shutting down, reconnect elsewhere
CLOSE_UNSUPPORTED_DATA = WSCloseCode.UNSUPPORTED_DATA  # 1003: text frames
CLOSE_MESSAGE_TOO_BIG = WSCloseCode.MESSAGE_TOO_BIG  # 1009
CLOSE_INTERNAL_ERROR = WSCloseCode.INTERNAL_ERROR  # 1011
CLOSE_TRY_AGAIN_LATER = WSCloseCode.TRY_AGAIN_LATER  # 1013: the store cannot be reached
CLOSE_BAD_MESSAGE = 4400  # malformed, truncated or unknown protocol message
CLOSE_FORBIDDEN = 4403  # the connection may not do this (read-only, origin)
CLOSE_SLOW_CONSUMER = 4508  # the client did not read fast enough; its send queue overflowed
CLOSE_UPDATE_REJECTED = 4422  # a well-framed update that does not apply to a document
CLOSE_RATE_LIMITED = 4529  # a flood of messages
CLOSE_RESYNC = 4509  # an update that depends on edits the server lacks: reconnect and resync
CLOSE_PAD_DELETED = 4410  # the pad was deleted while open: its notes are gone, do not send them
CLOSE_PAD_TOO_LARGE = 4413  # an update that would take the pad past max_pad_size: not saved
CLOSE_TOO_MANY_CONNECTIONS = 4429  # the participant holds max_connections_per_participant already


class SummitpadError(Exception):
    """Base of every error summitpad raises on purpose."""

    status: int = 500
    close_code: int = CLOSE_INTERNAL_ERROR
    title: str = "Something went wrong"


class NotFound(SummitpadError):
    status = 404
    close_code = 4404
    title = "Not found"


class Forbidden(SummitpadError):
    status = 403
    close_code = CLOSE_FORBIDDEN
    title = "Forbidden"


class TextFrame(SummitpadError):
    """The protocol is binary: a text frame is not part of it."""

    status = 400
    close_code = CLOSE_UNSUPPORTED_DATA
    title = "Binary frames only"


class ProtocolError(SummitpadError):
    """A frame that is not a well-formed y-protocols message."""

    status = 400
    close_code = CLOSE_BAD_MESSAGE
    title = "Malformed message"


class UpdateRejected(SummitpadError):
    """An update that the document cannot decode."""

    status = 422
    close_code = CLOSE_UPDATE_REJECTED
    title = "Update rejected"


class NeedsResync(SummitpadError):
    """An update that depends on edits the server does not have (yet)."""

    status = 409
    close_code = CLOSE_RESYNC
    title = "Resync needed"


class PadDeleted(SummitpadError):
    """The pad was deleted (by an organizer or the Etherpad-compatible API) while open. Its
    clients must not reconnect with the document they hold: that would write it back."""

    status = 410
    close_code = CLOSE_PAD_DELETED
    title = "Pad deleted"


class RateLimited(SummitpadError):
    status = 429
    close_code = CLOSE_RATE_LIMITED
    title = "Too many messages"


class TooManyConnections(SummitpadError):
    """A participant opening a connection past its limit on this node (many tabs, or a script
    reusing one browser's cookie): refused until one of its connections closes."""

    status = 429
    close_code = CLOSE_TOO_MANY_CONNECTIONS
    title = "Too many connections"


class StoreUnavailable(SummitpadError):
    """Valkey/Redis cannot be reached."""

    status = 503
    close_code = CLOSE_TRY_AGAIN_LATER
    title = "Storage unavailable"


class ConfigurationError(SummitpadError):
    """A setting that cannot work (bad URL, unusable data directory, ...)."""

    title = "Configuration error"


class ShuttingDown(SummitpadError):
    """The server is stopping: the client should reconnect, to another node if there is one."""

    status = 503
    close_code = CLOSE_GOING_AWAY
    title = "Server shutting down"


class InvalidInput(SummitpadError):
    """A form, file or request body that cannot be used as it is; nothing was changed.

    `problems` names each bad record and field, one line each, for the page or the CLI.
    """

    status = 400
    close_code = CLOSE_BAD_MESSAGE
    title = "Invalid input"

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []

    def __str__(self) -> str:
        if not self.problems:
            return super().__str__()
        return super().__str__() + "\n" + "\n".join(f"  {p}" for p in self.problems)


class TooLarge(InvalidInput):
    """An upload or an import past its size limit; nothing was changed."""

    status = 413
    close_code: int = CLOSE_MESSAGE_TOO_BIG
    title = "Too large"


class PadTooLarge(TooLarge):
    """A change that would make the pad bigger than its size limit; nothing of it was saved.
    Over the websocket it closes the sender (4413), which the stock client does not retry."""

    close_code = CLOSE_PAD_TOO_LARGE
    title = "Pad too large"


class Conflict(SummitpadError):
    """The change collides with what is stored (a slug in use, a room already taken)."""

    status = 409
    close_code = CLOSE_BAD_MESSAGE
    title = "Conflict"


class Unauthorized(SummitpadError):
    """Logging in would allow this; the page offers the login form."""

    status = 401
    close_code = 4401
    title = "Log in first"
