"""The MDM's REST API at ``/api/v1``: thin routes over ``mdm.service``, one error handler."""
