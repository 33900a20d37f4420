"""The Device Registration Service (DRS): device join and registration, and the tenant's device CA."""
