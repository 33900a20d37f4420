"""Intune's side of the partner compliance channel: what a third-party MDM (compliance partner) talks to.

The partner discovers two services from the Intune service principal's ``endPoints`` on Graph
(PartnerTenantDataSyncService, PartnerDeviceDataSyncService), provisions the tenant, creates and assigns a
partner compliance policy, then uploads device inventory and compliance as messages whose status it polls.
Intune writes the result onto the Entra device record. Wire shapes: reference/partner-compliance-wire.md.
"""
