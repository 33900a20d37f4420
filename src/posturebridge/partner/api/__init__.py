"""The partner service's HTTP API under ``/api/v1``: organisation registration (called by the MDM) and the
admin consent callback (reached by the administrator's browser)."""
