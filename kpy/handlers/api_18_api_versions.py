"""ApiVersions (key 18), versions 0-4.

v3+ (KIP-511) carries the client's software name and version, which must match Kafka's
pattern or the request gets INVALID_REQUEST. A request newer than v4 never reaches this
handler: dispatch answers it at v0 with UNSUPPORTED_VERSION and the supported ranges.
The advertised ranges come from the handler registry, so only implemented APIs appear.
"""

from __future__ import annotations

import re

from kpy.dispatch import RequestContext, api_versions_entries, handles
from kpy.protocol.error_codes import ErrorCode
from kpy.protocol.messages.api_versions import ApiVersionsRequest, ApiVersionsResponse

_SOFTWARE = re.compile(r"[a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?")


@handles(18, 0, 4)
async def api_versions(ctx: RequestContext, req: ApiVersionsRequest) -> ApiVersionsResponse:
    if ctx.api_version >= 3 and not (
        _SOFTWARE.fullmatch(req.client_software_name or "")
        and _SOFTWARE.fullmatch(req.client_software_version or "")
    ):
        # Like Kafka: the error alone, no version table.
        return ApiVersionsResponse(error_code=ErrorCode.INVALID_REQUEST)
    return ApiVersionsResponse(api_keys=api_versions_entries(ApiVersionsResponse))
