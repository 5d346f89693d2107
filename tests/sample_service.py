"""The sample domain behind HTTP, built with the kernel exactly as a real service is."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from nrmm_kernel.aggregate import AggregateRepository
from nrmm_kernel.auth import Principal, require_role
from nrmm_kernel.errors import ConcurrencyError, Conflict, NotFound
from nrmm_kernel.http import create_service_app
from nrmm_kernel.reference import Role
from nrmm_kernel.runtime import ServiceRuntime
from nrmm_kernel.settings import KernelSettings
from tests.sample import MachineView, SampleMachine, registry


class RegisterBody(BaseModel):
    code: str = Field(pattern=r"^[1-4DX]-[0-9A-HJ-NP-Z]{8}$")
    category: str


class MoveBody(BaseModel):
    site: str = Field(min_length=1)
    expected_version: int = Field(ge=0)


def build_router() -> APIRouter:
    router = APIRouter(prefix="/api/sample")

    def repo(request: Request) -> AggregateRepository:
        return AggregateRepository(request.app.state.runtime.store, registry, SampleMachine, "machine")

    @router.put("/machines/{machine_id}", status_code=201)
    async def register(machine_id: str, body: RegisterBody, request: Request,
                       who: Principal = Depends(require_role(Role.OWNER))):
        repository = repo(request)
        if await repository.load(machine_id) is not None:
            raise Conflict("already registered", code="already_registered")
        machine = SampleMachine.register(machine_id, body.code, body.category)
        _, envelopes = await repository.save(machine, actor=who.as_actor())
        return {"version": envelopes[-1].streamversion, "event_ids": [e.id for e in envelopes]}

    @router.post("/machines/{machine_id}/moves")
    async def move(machine_id: str, body: MoveBody, request: Request,
                   who: Principal = Depends(require_role(Role.OWNER, Role.SITE_ADMIN))):
        repository = repo(request)
        machine = await repository.load(machine_id)
        if machine is None:
            raise NotFound("没有这台机械 (no such machine)", field="machine_id")
        if machine.version != body.expected_version:  # the caller decided on a stale view
            raise ConcurrencyError(repository.stream_id(machine_id), body.expected_version, machine.version)
        machine.move(body.site)
        _, envelopes = await repository.save(machine, actor=who.as_actor())
        return {"version": envelopes[-1].streamversion}

    @router.get("/machines/{machine_id}")
    async def read(machine_id: str, request: Request, who: Principal = Depends(require_role(Role.OWNER))):
        doc = await request.app.state.runtime.db[MachineView.name].find_one({"_id": f"machine-{machine_id}"})
        if doc is None:
            raise NotFound("没有这台机械 (no such machine)", field="machine_id")
        return {k: v for k, v in doc.items() if not k.startswith("_")}

    return router


def create_sample_app(settings: KernelSettings):
    runtime = ServiceRuntime(settings, registry, [MachineView()])
    return create_service_app(title="sample", runtime=runtime, routers=[build_router()])
