"""The library all three Attendance Exchange services share.

Only what every service genuinely needs lives here: settings fragments (`settings`),
database plumbing (`db`), problem+json errors (`problems`), token verification and
scopes (`auth`), the authenticated service-to-service HTTP client (`service_client`),
the attendance code table (`codes`), pupil identifiers (`identifiers`) and the payloads
that cross service boundaries (`contracts`). Nothing here is ever run on its own.
"""
