"""The one SharePoint error factory: every failure leaves the emulator as SharePoint's error JSON."""

from __future__ import annotations


class SPError(Exception):
    """An HTTP error in SharePoint's verbose shape:
    {"error": {"code": "<hresult>, <.NET type>", "message": {"lang": "en-US", "value": ...}}}."""

    def __init__(self, status: int, hresult: str, net_type: str, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status = status
        self.code = f"{hresult}, {net_type}"
        self.message = message
        self.headers = headers or {}

    def body(self) -> dict:
        return {"error": {"code": self.code, "message": {"lang": "en-US", "value": self.message}}}


def unauthorized(msg: str = "Invalid or missing bearer token.") -> SPError:
    return SPError(
        401,
        "-2147024891",
        "System.UnauthorizedAccessException",
        msg,
        {"WWW-Authenticate": 'Bearer realm="emulator", client_id="00000003-0000-0ff1-ce00-000000000000"'},
    )


def forbidden() -> SPError:
    return SPError(
        403,
        "-2147024891",
        "System.UnauthorizedAccessException",
        "Access denied. You do not have permission to perform this action or access this resource.",
    )


def not_found(what: str) -> SPError:
    return SPError(404, "-2130575322", "Microsoft.SharePoint.SPException", what)


def site_not_found(name: str) -> SPError:
    """SharePoint Online answers 404 for a site that does not exist (a typo in the URL)."""
    return SPError(404, "-2147024894", "System.IO.FileNotFoundException", f"The site /sites/{name} does not exist.")


def list_not_found(title: str, site_url: str) -> SPError:
    return SPError(
        404, "-1", "System.ArgumentException", f"List '{title}' does not exist at site with URL '{site_url}'."
    )


def item_not_found() -> SPError:
    return SPError(
        404, "-2147024809", "System.ArgumentException", "Item does not exist. It may have been deleted by another user."
    )


def file_not_found(url: str) -> SPError:
    return SPError(404, "-2147024894", "System.IO.FileNotFoundException", f"File Not Found. ({url})")


def bad_request(
    msg: str, hresult: str = "-1", net_type: str = "Microsoft.SharePoint.Client.InvalidClientQueryException"
) -> SPError:
    return SPError(400, hresult, net_type, msg)


def field_not_found(name: str) -> SPError:
    return bad_request(f"The field or property '{name}' does not exist.", "-1", "Microsoft.SharePoint.SPException")


def property_not_found(name: str, entity_type: str) -> SPError:
    return bad_request(
        f"The property '{name}' does not exist on type '{entity_type}'. "
        "Make sure to only use property names that are defined by the type.",
        "-1",
        "Microsoft.SharePoint.Client.InvalidClientQueryException",
    )


def conflict(msg: str) -> SPError:
    return SPError(409, "-2130575257", "Microsoft.SharePoint.SPException", msg)


def file_exists(url: str) -> SPError:
    return SPError(
        400, "-2130575257", "Microsoft.SharePoint.SPException", f"A file with the name {url} already exists."
    )


def invalid_name(msg: str) -> SPError:
    return SPError(400, "-2130575245", "Microsoft.SharePoint.SPException", msg)


def path_too_long(url: str) -> SPError:
    return SPError(
        400,
        "-2147024690",
        "System.IO.PathTooLongException",
        f"The specified file or folder name is too long. The URL path for all files and folders "
        f"must be 400 characters or less (and no more than 128 characters for any single file "
        f"or folder name in the URL). ({url})",
    )


def precondition_failed() -> SPError:
    return SPError(
        412,
        "-2130575305",
        "Microsoft.SharePoint.SPException",
        "The request ETag value does not match the object's ETag value.",
    )


def query_throttled() -> SPError:
    return SPError(
        500,
        "-2147024860",
        "Microsoft.SharePoint.SPQueryThrottledException",
        "The attempted operation is prohibited because it exceeds the list view threshold.",
    )


def throttled(status: int, retry_after: int) -> SPError:
    return SPError(
        status,
        "-2147024860",
        "Microsoft.SharePoint.SPQueryThrottledException",
        "The request has been throttled. Retry after the delay given in Retry-After.",
        {"Retry-After": str(retry_after)},
    )


def server_error(msg: str = "Internal server error (injected fault).") -> SPError:
    return SPError(500, "-2146232832", "Microsoft.SharePoint.SPException", msg)


def not_implemented(method: str, path: str) -> SPError:
    return SPError(
        501,
        "-1",
        "System.NotImplementedException",
        f"The copil SharePoint emulator does not implement {method} {path}.",
    )


def too_many_operations(n: int) -> SPError:
    return bad_request(f"The batch contains {n} operations; the maximum is 100.")


def view_not_found() -> SPError:
    return SPError(404, "-2147024809", "System.ArgumentException", "The specified view is invalid.")


def caml_not_supported(what: str) -> SPError:
    return SPError(
        501,
        "-1",
        "System.NotImplementedException",
        f"The copil SharePoint emulator does not implement the CAML element {what}.",
    )
