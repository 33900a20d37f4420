"""The MDM's service functions: each takes a ``Session`` (and ``now`` where time matters), does one
thing to the store through the domain, and never commits; the caller's unit of work does.

- ``credentials``: organisations, client credentials, API keys, bearer tokens, device credentials
- ``directory``: users, user groups, the Entra immutable ID
- ``policies``: compliance policies and smart groups
- ``enrollment``: enrolment tokens and enrolment
- ``compliance``: check-in, evaluation, the scheduled sweep
- ``devices``: inventory queries, Entra device ID, unenrol and wipe
- ``settings``: compliance settings, Directory Services, Intelligence opt-in, directory sync
- ``device_logs``: the per-device Conditional Access log and Hub notifications
- ``feed``: the change feed
- ``sensors``: sensor results reported by devices
- ``workflows``: workflow rules, their runs (the outbox) and the triggers that queue them
- ``connectors``: custom connectors and the HTTP caller (``templating``: sandboxed Jinja2)
- ``workflow_runner``: carries out queued runs after commit (Hub notifications, connector calls)
"""
