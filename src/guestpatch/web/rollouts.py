"""The rollout pages: the list, one rollout (timeline, gate, halt, machines, attempts), and its actions.

Actions are POST forms checked by :func:`guestpatch.web.auth.form_operator` (the session's CSRF token):
**Resume** (a halted rollout) is one button; **Halt** and **Cancel** first show a page that says what
will happen (Cancel asks to tick a confirmation box, checked again on the server). Each action is the
orchestrator's own (:class:`~guestpatch.services.orchestrator.Orchestrator`), recorded with the API
token's name, and answered with a redirect back to the rollout (``?done=resumed``).
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import RedirectResponse
from starlette.datastructures import FormData

from guestpatch.errors import InvalidInput, NotFound
from guestpatch.web import rollout_view
from guestpatch.web.auth import Dashboard, Who, dashboard, form_operator
from guestpatch.web.filters import PAGE_SIZE, page_number
from guestpatch.web.render import PREFIX, SECURITY_HEADERS, DashboardRoute, Operator, page

router = APIRouter(prefix=PREFIX, route_class=DashboardRoute, include_in_schema=False)

MAX_REASON = 500
RECENT_ATTEMPTS = 25
RECENT_EVENTS = 12
#: Seconds between two automatic refreshes of a rollout page that is still moving; bigger rollouts less often.
REFRESH = 5
REFRESH_LARGE = 30
LARGE = 2_000
DONE = {
    "resumed": "Resumed: the gate that halted it is overridden, and waiting machines start in their windows.",
    "halted": "Halted: machines in flight finish, nothing new starts until someone resumes.",
    "cancelled": "Cancelled: nothing new starts; waiting machines are marked Cancelled.",
}
Checked = Annotated[tuple[Operator, FormData], Depends(form_operator)]


def rollout_url(rollout_id: str, **params: str) -> str:
    query = f"?{urlencode(params)}" if params else ""
    return f"{PREFIX}/rollouts/{quote(rollout_id, safe='')}{query}"


def _checked_id(rollout_id: str) -> str:
    """A rollout id the store may be asked about; anything else is simply not a rollout (404)."""
    if not 1 <= len(rollout_id) <= 100 or any(ord(ch) < 32 or ord(ch) == 127 for ch in rollout_id):
        raise NotFound("There is no such rollout.", target="rolloutId")
    return rollout_id


@router.get("/rollouts")
def rollouts(request: Request, who: Who) -> Response:
    board = dashboard(request)
    listed = list(reversed(board.counts.rollouts()))
    progress = board.counts.rollout_machines()
    return page(
        request, "rollouts.html", operator=who, section="rollouts", title="Rollouts", rollouts=listed,
        bars={r.record.id: rollout_view.Bar.of(progress.get(r.record.id, {})) for r in listed},
        look=rollout_view.ROLLOUT_LOOK, buckets=rollout_view.BUCKETS, refresh=10 if listed else None,
        url=rollout_url, now=board.state.clock.now(),
    )


@router.get("/rollouts/{rollout_id}")
def rollout(request: Request, who: Who, rollout_id: str) -> Response:
    board = dashboard(request)
    orchestrator = board.state.orchestrator
    detail = orchestrator.detail(_checked_id(rollout_id))
    status = rollout_view.status_filter(request.query_params.get("status"))
    number = page_number(request.query_params.get("page"))
    machines = orchestrator.machines(rollout_id)
    rows = rollout_view.machine_rows(machines, orchestrator.unpatched(rollout_id))
    shown = [r for r in rows if status is None or r.status == status]
    pages = max(1, -(-len(shown) // PAGE_SIZE))
    now = board.state.clock.now()
    policy = rollout_view.policy_of(detail)
    by_name = {r.machine: r for r in rows}
    halt = detail.get("halt")
    attempts = orchestrator.attempts(rollout_id)[-RECENT_ATTEMPTS:][::-1]
    moving = detail["status"] in rollout_view.ACTIVE
    return page(
        request, "rollout.html", operator=who, section="rollouts", title=f"Rollout {rollout_id}", r=detail,
        phases=rollout_view.timeline(detail, machines), gate=rollout_view.gate(detail, policy, now=now),
        halt=halt, behind=[by_name.get(name) for name in (halt or {}).get("machines", [])],
        halt_names=(halt or {}).get("machines", []), rows=shown[(number - 1) * PAGE_SIZE: number * PAGE_SIZE],
        matching=len(shown), total=len(rows), status_shown=status, page_no=number, pages=pages,
        statuses=rollout_view.MACHINE_STATUSES, attempts=attempts, events=detail["history"][-RECENT_EVENTS:][::-1],
        look=rollout_view.ROLLOUT_LOOK, buckets=rollout_view.BUCKETS, bucket_of=rollout_view.BUCKET_OF,
        done=DONE.get(request.query_params.get("done", "")), now=now, url=rollout_url,
        refresh=(REFRESH if len(rows) <= LARGE else REFRESH_LARGE) if moving else None,
    )


@router.post("/rollouts/{rollout_id}/resume")
def resume(request: Request, checked: Checked, rollout_id: str) -> Response:
    board = dashboard(request)
    board.state.orchestrator.resume(_checked_id(rollout_id), by=_by(checked[0]))
    return _after(board, rollout_id, "resumed")


@router.get("/rollouts/{rollout_id}/halt")
def halt_form(request: Request, who: Who, rollout_id: str) -> Response:
    return _confirm(request, who, rollout_id, "halt")


@router.post("/rollouts/{rollout_id}/halt")
def halt(request: Request, checked: Checked, rollout_id: str) -> Response:
    board = dashboard(request)
    who, form = checked
    reason = form.get("reason")
    text = reason.strip() if isinstance(reason, str) else ""
    if len(text) > MAX_REASON or any(ord(ch) < 32 and ch not in "\t" for ch in text):
        raise InvalidInput(f"The reason must be at most {MAX_REASON} characters on one line.", target="reason")
    board.state.orchestrator.halt(_checked_id(rollout_id), by=_by(who), reason=text or "halted from the dashboard")
    return _after(board, rollout_id, "halted")


@router.get("/rollouts/{rollout_id}/cancel")
def cancel_form(request: Request, who: Who, rollout_id: str) -> Response:
    return _confirm(request, who, rollout_id, "cancel")


@router.post("/rollouts/{rollout_id}/cancel")
def cancel(request: Request, checked: Checked, rollout_id: str) -> Response:
    board = dashboard(request)
    who, form = checked
    if form.get("confirm") != "yes":
        raise InvalidInput(
            "Tick the box that confirms the cancellation: a cancelled rollout cannot be resumed.", target="confirm"
        )
    board.state.orchestrator.cancel(_checked_id(rollout_id), by=_by(who))
    return _after(board, rollout_id, "cancelled")


def _confirm(request: Request, who: Operator, rollout_id: str, action: str) -> Response:
    detail = dashboard(request).state.orchestrator.detail(_checked_id(rollout_id))
    return page(
        request, "rollout_confirm.html", operator=who, section="rollouts",
        title=f"{action.capitalize()} rollout {rollout_id}", r=detail, action=action, url=rollout_url,
        look=rollout_view.ROLLOUT_LOOK, max_reason=MAX_REASON,
    )


def _by(who: Operator) -> str:
    """Who acted, as the history and the why-not-yet sentences show it (the API says ``token:NAME``)."""
    return f"token:{who.name} (dashboard)"


def _after(board: Dashboard, rollout_id: str, done: str) -> Response:
    board.state.wake_engine()
    return RedirectResponse(rollout_url(rollout_id, done=done), status_code=303, headers=SECURITY_HEADERS)
