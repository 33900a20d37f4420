"""Workflow rules, their runs, custom connectors (administration) and sensor results (the device agent
reports them; administrators read them)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from posturebridge.common.database import unit_of_work
from posturebridge.mdm import schemas
from posturebridge.mdm.api.context import MdmContext, device_auth, org_auth
from posturebridge.mdm.models import CustomConnector, DeviceSensor, WorkflowRule, WorkflowRun
from posturebridge.mdm.service import connectors, sensors, workflows
from posturebridge.mdm.service.connectors import ConnectorAuth, ConnectorSpec
from posturebridge.mdm.service.credentials import DevicePrincipal, OrgPrincipal


def rule_out(row: WorkflowRule) -> schemas.WorkflowRuleOut:
    return schemas.WorkflowRuleOut(
        id=row.id,
        name=row.name,
        enabled=row.enabled,
        trigger=row.trigger,
        actions=row.actions,
        created_date_time=row.created_at,
        last_modified_date_time=row.updated_at,
    )


def run_out(row: WorkflowRun) -> schemas.WorkflowRunOut:
    return schemas.WorkflowRunOut(
        id=row.id,
        rule_id=row.rule_id,
        rule_name=str(row.context.get("ruleName", "")),
        device_id=row.device_id,
        trigger_type=row.trigger_type,
        trigger_key=row.trigger_key,
        trigger=dict(row.context.get("trigger") or {}),
        action_index=row.action_index,
        action_type=row.action_type,
        status=row.status,
        attempts=row.attempts,
        outcome=row.outcome,
        error=row.error,
        created_date_time=row.created_at,
        next_attempt_date_time=row.next_attempt_at,
        finished_date_time=row.finished_at,
    )


def connector_out(row: CustomConnector) -> schemas.CustomConnectorOut:
    auth = ConnectorAuth.from_dict(row.auth)
    return schemas.CustomConnectorOut(
        id=row.id,
        name=row.name,
        method=row.method,
        url_template=row.url_template,
        headers=row.headers,
        body_template=row.body_template,
        auth=schemas.ConnectorAuthOut(
            type=auth.type,
            username=auth.username,
            token_url=auth.token_url,
            client_id=auth.client_id,
            scope=auth.scope,
            has_secret=bool(row.secret),
        ),
        timeout_seconds=row.timeout_seconds,
        created_date_time=row.created_at,
        last_modified_date_time=row.updated_at,
    )


def sensor_out(row: DeviceSensor) -> schemas.SensorOut:
    return schemas.SensorOut(
        name=row.name, value=row.value, reported_date_time=row.reported_at, recorded_date_time=row.recorded_at
    )


def _spec(body: schemas.CustomConnectorIn) -> ConnectorSpec:
    auth = ConnectorAuth(body.auth.type, body.auth.username, body.auth.token_url, body.auth.client_id, body.auth.scope)
    return ConnectorSpec(
        name=body.name,
        method=body.method,
        url_template=body.url_template,
        headers=body.headers,
        body_template=body.body_template,
        auth=auth,
        secret=body.auth.secret,
        timeout_seconds=body.timeout_seconds,
    )


def _rule_fields(body: schemas.WorkflowRuleIn) -> workflows.RuleFields:
    return workflows.RuleFields(body.name, body.enabled, body.trigger, body.actions)


def router(context: MdmContext) -> APIRouter:
    api = APIRouter(prefix="/api/v1")
    Principal = Annotated[OrgPrincipal, Depends(org_auth(context))]
    Device = Annotated[DevicePrincipal, Depends(device_auth(context))]

    # --- sensors ---

    @api.post("/devices/{device_id}/sensors", response_model=schemas.SensorReportOut, tags=["device agent"])
    def report_sensors(device_id: str, body: schemas.SensorReportIn, principal: Device) -> schemas.SensorReportOut:
        """Report sensor results (name -> value); results older than the stored ones are ignored."""
        document = {"reportedDateTime": body.reported_date_time.isoformat(), "results": body.results}
        with unit_of_work(context.sessions) as session:
            result = sensors.report(session, principal.device_id, device_id, document, context.now())
            session.commit()
        return schemas.SensorReportOut(
            device_id=device_id,
            accepted=[r.name for r in result.change.accepted],
            ignored_stale=list(result.change.stale),
            changed=sorted(result.change.changed),
            workflow_runs_queued=result.runs_queued,
        )

    @api.get("/devices/{device_id}/sensors", response_model=list[schemas.SensorOut], tags=["devices"])
    def device_sensors(device_id: str, principal: Principal) -> list[schemas.SensorOut]:
        with unit_of_work(context.sessions) as session:
            return [sensor_out(row) for row in sensors.device_sensors(session, principal.organisation_id, device_id)]

    # --- custom connectors ---

    @api.post("/customConnectors", response_model=schemas.CustomConnectorOut, status_code=201, tags=["workflows"])
    def create_connector(body: schemas.CustomConnectorIn, principal: Principal) -> schemas.CustomConnectorOut:
        with unit_of_work(context.sessions) as session:
            row = connectors.create_connector(session, principal.organisation_id, _spec(body), context.now())
            session.commit()
        return connector_out(row)

    @api.get("/customConnectors", response_model=list[schemas.CustomConnectorOut], tags=["workflows"])
    def list_connectors(principal: Principal) -> list[schemas.CustomConnectorOut]:
        with unit_of_work(context.sessions) as session:
            return [connector_out(row) for row in connectors.list_connectors(session, principal.organisation_id)]

    @api.get("/customConnectors/{connector_id}", response_model=schemas.CustomConnectorOut, tags=["workflows"])
    def get_connector(connector_id: str, principal: Principal) -> schemas.CustomConnectorOut:
        with unit_of_work(context.sessions) as session:
            return connector_out(connectors.get_connector(session, principal.organisation_id, connector_id))

    @api.put("/customConnectors/{connector_id}", response_model=schemas.CustomConnectorOut, tags=["workflows"])
    def replace_connector(
        connector_id: str, body: schemas.CustomConnectorIn, principal: Principal
    ) -> schemas.CustomConnectorOut:
        """Replace a connector; leave ``auth.secret`` out to keep the stored one."""
        with unit_of_work(context.sessions) as session:
            row = connectors.replace_connector(
                session, principal.organisation_id, connector_id, _spec(body), context.now()
            )
            session.commit()
        return connector_out(row)

    @api.delete("/customConnectors/{connector_id}", status_code=204, tags=["workflows"])
    def delete_connector(connector_id: str, principal: Principal) -> Response:
        with unit_of_work(context.sessions) as session:
            using = workflows.connector_in_use(session, principal.organisation_id, connector_id)
            connectors.delete_connector(session, principal.organisation_id, connector_id, using)
            session.commit()
        return Response(status_code=204)

    # --- workflow rules and runs ---

    @api.post("/workflowRules", response_model=schemas.WorkflowRuleOut, status_code=201, tags=["workflows"])
    def create_rule(body: schemas.WorkflowRuleIn, principal: Principal) -> schemas.WorkflowRuleOut:
        with unit_of_work(context.sessions) as session:
            row = workflows.create_rule(session, principal.organisation_id, _rule_fields(body), context.now())
            session.commit()
        return rule_out(row)

    @api.get("/workflowRules", response_model=list[schemas.WorkflowRuleOut], tags=["workflows"])
    def list_rules(principal: Principal) -> list[schemas.WorkflowRuleOut]:
        with unit_of_work(context.sessions) as session:
            return [rule_out(row) for row in workflows.list_rules(session, principal.organisation_id)]

    @api.get("/workflowRules/{rule_id}", response_model=schemas.WorkflowRuleOut, tags=["workflows"])
    def get_rule(rule_id: str, principal: Principal) -> schemas.WorkflowRuleOut:
        with unit_of_work(context.sessions) as session:
            return rule_out(workflows.get_rule(session, principal.organisation_id, rule_id))

    @api.put("/workflowRules/{rule_id}", response_model=schemas.WorkflowRuleOut, tags=["workflows"])
    def replace_rule(rule_id: str, body: schemas.WorkflowRuleIn, principal: Principal) -> schemas.WorkflowRuleOut:
        with unit_of_work(context.sessions) as session:
            row = workflows.replace_rule(session, principal.organisation_id, rule_id, _rule_fields(body), context.now())
            session.commit()
        return rule_out(row)

    @api.delete("/workflowRules/{rule_id}", status_code=204, tags=["workflows"])
    def delete_rule(rule_id: str, principal: Principal) -> Response:
        with unit_of_work(context.sessions) as session:
            workflows.delete_rule(session, principal.organisation_id, rule_id)
            session.commit()
        return Response(status_code=204)

    @api.get("/workflowRuns", response_model=list[schemas.WorkflowRunOut], tags=["workflows"])
    def list_runs(
        principal: Principal,
        rule_id: Annotated[str | None, Query(alias="ruleId")] = None,
        device_id: Annotated[str | None, Query(alias="deviceId")] = None,
        status: str | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> list[schemas.WorkflowRunOut]:
        """Every run of the organisation's rules, newest first: rule, device, trigger, action, outcome, error."""
        query = workflows.RunQuery(rule_id, device_id, status, limit)
        with unit_of_work(context.sessions) as session:
            return [run_out(row) for row in workflows.list_runs(session, principal.organisation_id, query)]

    return api
