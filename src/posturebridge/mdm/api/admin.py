"""Organisation administration: tokens, credentials, administrators, users and groups, smart groups,
compliance policies and the organisation's settings."""

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Form, Response

from posturebridge.common.database import unit_of_work
from posturebridge.mdm import schemas
from posturebridge.mdm.api import render
from posturebridge.mdm.api.context import MdmContext, org_auth
from posturebridge.mdm.service import credentials, directory, policies, settings
from posturebridge.mdm.service.credentials import OrgPrincipal
from posturebridge.mdm.service.errors import OAuthError

PolicyBody = Annotated[
    Any,
    Body(
        description="A compliance policy as the domain reads it (id assigned by the MDM)",
        examples=[
            {
                "displayName": "iOS baseline",
                "platform": "iOS",
                "rules": [{"type": "osMinimumVersion", "version": "17.0"}, {"type": "passcodeRequired"}],
                "scheduledActions": [{"actionType": "block", "gracePeriodHours": 24}],
                "assignment": {"allDevices": True},
            }
        ],
    ),
]
SmartGroupBody = Annotated[
    Any,
    Body(
        description="A smart group: name and criteria (platforms, ownerships, osVersions, models, userGroups)",
        examples=[{"name": "Corporate iPhones", "platforms": ["iOS"], "ownerships": ["corporate"]}],
    ),
]


def router(context: MdmContext) -> APIRouter:
    api = APIRouter(prefix="/api/v1")
    Principal = Annotated[OrgPrincipal, Depends(org_auth(context))]

    @api.post("/oauth/token", response_model=schemas.TokenResponse, tags=["auth"])
    def token(
        grant_type: Annotated[str, Form()],
        client_id: Annotated[str, Form()] = "",
        client_secret: Annotated[str, Form()] = "",
    ) -> schemas.TokenResponse:
        """OAuth 2.0 client credentials grant: a bearer token for the organisation of the client."""
        if grant_type != "client_credentials":
            raise OAuthError("unsupported_grant_type", f"grant_type {grant_type!r} is not supported")
        with unit_of_work(context.sessions) as session:
            value, lifetime = credentials.issue_token(session, client_id, client_secret, context.now())
            session.commit()
        return schemas.TokenResponse(access_token=value, expires_in=lifetime)

    @api.get("/organisation", response_model=schemas.OrganisationOut, tags=["organisation"])
    def organisation(principal: Principal) -> schemas.OrganisationOut:
        with unit_of_work(context.sessions) as session:
            row = credentials.get_organisation(session, principal.organisation_id)
            return schemas.OrganisationOut(id=row.id, name=row.name, created_date_time=row.created_at)

    @api.post("/credentials", response_model=schemas.CredentialOut, status_code=201, tags=["organisation"])
    def create_credential(body: schemas.CredentialCreate, principal: Principal) -> schemas.CredentialOut:
        with unit_of_work(context.sessions) as session:
            new = credentials.create_credential(
                session, principal.organisation_id, body.kind, body.display_name, context.now()
            )
            session.commit()
        return schemas.CredentialOut(kind=new.kind, id=new.id, display_name=new.display_name, secret=new.secret)

    @api.get("/credentials", response_model=list[schemas.CredentialOut], tags=["organisation"])
    def list_credentials(principal: Principal) -> list[schemas.CredentialOut]:
        with unit_of_work(context.sessions) as session:
            found = credentials.list_credentials(session, principal.organisation_id)
        return [schemas.CredentialOut(kind=k, id=i, display_name=n, created_date_time=c) for k, i, n, c in found]

    @api.post("/admins", response_model=schemas.AdminOut, status_code=201, tags=["organisation"])
    def create_admin(body: schemas.AdminCreate, principal: Principal) -> schemas.AdminOut:
        with unit_of_work(context.sessions) as session:
            row = credentials.create_admin(
                session, principal.organisation_id, body.user_name, body.display_name, body.role, context.now()
            )
            session.commit()
        return render.admin(row)

    @api.get("/admins", response_model=list[schemas.AdminOut], tags=["organisation"])
    def list_admins(principal: Principal) -> list[schemas.AdminOut]:
        with unit_of_work(context.sessions) as session:
            return [render.admin(row) for row in credentials.list_admins(session, principal.organisation_id)]

    # --- users and user groups ---

    @api.post("/users", response_model=schemas.UserOut, status_code=201, tags=["users"])
    def create_user(body: schemas.UserCreate, principal: Principal) -> schemas.UserOut:
        fields = directory.UserFields(
            user_name=body.user_name,
            display_name=body.display_name,
            user_principal_name=body.user_principal_name,
            mail=body.mail,
            object_guid=body.object_guid,
            custom_attributes=body.custom_attributes,
        )
        with unit_of_work(context.sessions) as session:
            row = directory.create_user(session, principal.organisation_id, fields, context.now())
            session.commit()
        return render.user(row, [])

    @api.get("/users", response_model=list[schemas.UserOut], tags=["users"])
    def list_users(principal: Principal) -> list[schemas.UserOut]:
        with unit_of_work(context.sessions) as session:
            rows = directory.list_users(session, principal.organisation_id)
            return [render.user(row, directory.user_groups_of(session, row.id)) for row in rows]

    @api.get("/users/{user_id}", response_model=schemas.UserOut, tags=["users"])
    def get_user(user_id: str, principal: Principal) -> schemas.UserOut:
        with unit_of_work(context.sessions) as session:
            row = directory.get_user(session, principal.organisation_id, user_id)
            return render.user(row, directory.user_groups_of(session, row.id))

    @api.get("/users/{user_id}/immutableId", response_model=schemas.ImmutableIdOut, tags=["users"])
    def immutable_id(user_id: str, principal: Principal) -> schemas.ImmutableIdOut:
        """The user's Entra immutable ID per the Directory Services mapping attribute."""
        with unit_of_work(context.sessions) as session:
            mapping, value = directory.immutable_id(session, principal.organisation_id, user_id)
        return schemas.ImmutableIdOut(
            user_id=user_id, attribute=mapping.source_name, data_type=mapping.data_type.value, immutable_id=value
        )

    @api.post("/userGroups", response_model=schemas.UserGroupOut, status_code=201, tags=["users"])
    def create_user_group(body: schemas.UserGroupCreate, principal: Principal) -> schemas.UserGroupOut:
        with unit_of_work(context.sessions) as session:
            row = directory.create_user_group(session, principal.organisation_id, body.name, context.now())
            session.commit()
        return schemas.UserGroupOut(id=row.id, name=row.name, created_date_time=row.created_at)

    @api.get("/userGroups", response_model=list[schemas.UserGroupOut], tags=["users"])
    def list_user_groups(principal: Principal) -> list[schemas.UserGroupOut]:
        with unit_of_work(context.sessions) as session:
            found = directory.list_user_groups(session, principal.organisation_id)
            return [
                schemas.UserGroupOut(id=g.id, name=g.name, member_ids=members, created_date_time=g.created_at)
                for g, members in found
            ]

    @api.post("/userGroups/{group_id}/members", status_code=204, tags=["users"])
    def add_member(group_id: str, body: schemas.MemberAdd, principal: Principal) -> Response:
        with unit_of_work(context.sessions) as session:
            directory.add_member(session, principal.organisation_id, group_id, body.user_id, context.now())
            session.commit()
        return Response(status_code=204)

    @api.delete("/userGroups/{group_id}/members/{user_id}", status_code=204, tags=["users"])
    def remove_member(group_id: str, user_id: str, principal: Principal) -> Response:
        with unit_of_work(context.sessions) as session:
            directory.remove_member(session, principal.organisation_id, group_id, user_id, context.now())
            session.commit()
        return Response(status_code=204)

    # --- smart groups and compliance policies ---

    @api.post("/smartGroups", response_model=schemas.SmartGroupOut, status_code=201, tags=["compliance"])
    def create_smart_group(body: SmartGroupBody, principal: Principal) -> schemas.SmartGroupOut:
        with unit_of_work(context.sessions) as session:
            row = policies.create_smart_group(session, principal.organisation_id, body, context.now())
            session.commit()
        return render.smart_group(row)

    @api.get("/smartGroups", response_model=list[schemas.SmartGroupOut], tags=["compliance"])
    def list_smart_groups(principal: Principal) -> list[schemas.SmartGroupOut]:
        with unit_of_work(context.sessions) as session:
            return [render.smart_group(row) for row in policies.list_smart_groups(session, principal.organisation_id)]

    @api.delete("/smartGroups/{group_id}", status_code=204, tags=["compliance"])
    def delete_smart_group(group_id: str, principal: Principal) -> Response:
        with unit_of_work(context.sessions) as session:
            policies.delete_smart_group(session, principal.organisation_id, group_id, context.now())
            session.commit()
        return Response(status_code=204)

    @api.post("/compliancePolicies", response_model=schemas.CompliancePolicyOut, status_code=201, tags=["compliance"])
    def create_policy(body: PolicyBody, principal: Principal) -> schemas.CompliancePolicyOut:
        with unit_of_work(context.sessions) as session:
            row = policies.create_policy(session, principal.organisation_id, body, context.now())
            session.commit()
        return render.policy(row)

    @api.get("/compliancePolicies", response_model=list[schemas.CompliancePolicyOut], tags=["compliance"])
    def list_policies(principal: Principal) -> list[schemas.CompliancePolicyOut]:
        with unit_of_work(context.sessions) as session:
            return [render.policy(row) for row in policies.list_policies(session, principal.organisation_id)]

    @api.get("/compliancePolicies/{policy_id}", response_model=schemas.CompliancePolicyOut, tags=["compliance"])
    def get_policy(policy_id: str, principal: Principal) -> schemas.CompliancePolicyOut:
        with unit_of_work(context.sessions) as session:
            return render.policy(policies.get_policy(session, principal.organisation_id, policy_id))

    @api.put("/compliancePolicies/{policy_id}", response_model=schemas.CompliancePolicyOut, tags=["compliance"])
    def replace_policy(policy_id: str, body: PolicyBody, principal: Principal) -> schemas.CompliancePolicyOut:
        with unit_of_work(context.sessions) as session:
            row = policies.replace_policy(session, principal.organisation_id, policy_id, body, context.now())
            session.commit()
        return render.policy(row)

    @api.delete("/compliancePolicies/{policy_id}", status_code=204, tags=["compliance"])
    def delete_policy(policy_id: str, principal: Principal) -> Response:
        with unit_of_work(context.sessions) as session:
            policies.delete_policy(session, principal.organisation_id, policy_id, context.now())
            session.commit()
        return Response(status_code=204)

    # --- settings ---

    @api.get("/settings/compliance", response_model=schemas.ComplianceSettingsOut, tags=["settings"])
    def get_compliance_settings(principal: Principal) -> schemas.ComplianceSettingsOut:
        with unit_of_work(context.sessions) as session:
            value = settings.compliance_settings(session, principal.organisation_id)
        return schemas.ComplianceSettingsOut.model_validate(value.to_dict())

    @api.put("/settings/compliance", response_model=schemas.ComplianceSettingsOut, tags=["settings"])
    def put_compliance_settings(
        body: Annotated[Any, Body(examples=[{"secureByDefault": True, "deviceComplianceCheckinThresholdDays": 30}])],
        principal: Principal,
    ) -> schemas.ComplianceSettingsOut:
        with unit_of_work(context.sessions) as session:
            value = settings.set_compliance_settings(session, principal.organisation_id, body, context.now())
            session.commit()
        return schemas.ComplianceSettingsOut.model_validate(value.to_dict())

    def _directory_out(session: Any, organisation_id: str) -> schemas.DirectoryServicesOut:
        services = settings.directory_services(session, organisation_id)
        last = settings.last_directory_sync(session, organisation_id)
        return schemas.DirectoryServicesOut.model_validate(
            {**services.to_stored(), "lastSyncRequest": render.directory_sync(last) if last else None}
        )

    @api.get("/settings/directoryServices", response_model=schemas.DirectoryServicesOut, tags=["settings"])
    def get_directory_services(principal: Principal) -> schemas.DirectoryServicesOut:
        with unit_of_work(context.sessions) as session:
            return _directory_out(session, principal.organisation_id)

    @api.put("/settings/directoryServices", response_model=schemas.DirectoryServicesOut, tags=["settings"])
    def put_directory_services(body: schemas.DirectoryServicesIn, principal: Principal) -> schemas.DirectoryServicesOut:
        with unit_of_work(context.sessions) as session:
            settings.set_directory_services(
                session,
                principal.organisation_id,
                entra_integration_enabled=body.entra_integration_enabled,
                directory_id=body.directory_id,
                use_entra_id_for_identity_services=body.use_entra_id_for_identity_services,
                tenant_name=body.tenant_name,
                immutable_id_mapping=body.immutable_id_mapping,
                send_compliance_for_windows_devices=body.send_compliance_for_windows_devices,
                now=context.now(),
            )
            session.commit()
            return _directory_out(session, principal.organisation_id)

    @api.post(
        "/settings/directoryServices/sync", response_model=schemas.DirectorySyncOut, status_code=202, tags=["settings"]
    )
    def sync_directory_services(principal: Principal) -> schemas.DirectorySyncOut:
        """Record a "sync directory services" request; it appears in the change feed for the partner."""
        with unit_of_work(context.sessions) as session:
            row = settings.request_directory_sync(
                session, principal.organisation_id, principal.credential, context.now()
            )
            session.commit()
        return render.directory_sync(row)

    @api.get("/settings/intelligence", response_model=schemas.IntelligenceOut, tags=["settings"])
    def get_intelligence(principal: Principal) -> schemas.IntelligenceOut:
        with unit_of_work(context.sessions) as session:
            opted_in, since = settings.intelligence(session, principal.organisation_id)
        return schemas.IntelligenceOut(opted_in=opted_in, opted_in_date_time=since)

    @api.put("/settings/intelligence", response_model=schemas.IntelligenceOut, tags=["settings"])
    def put_intelligence(body: schemas.IntelligenceIn, principal: Principal) -> schemas.IntelligenceOut:
        with unit_of_work(context.sessions) as session:
            opted_in, since = settings.set_intelligence(
                session, principal.organisation_id, body.opted_in, context.now()
            )
            session.commit()
        return schemas.IntelligenceOut(opted_in=opted_in, opted_in_date_time=since)

    return api
