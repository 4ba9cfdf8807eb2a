from http import HTTPStatus
from typing import Any, Literal

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.problem import Problem
from ...models.request_state import RequestState
from ...models.restriction_queue import RestrictionQueue
from ...models.validation_problem import ValidationProblem
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    state: Literal["all"] | RequestState | Unset = RequestState.OPEN,
    after: None | str | Unset = UNSET,
    limit: int | Unset = 100,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    json_state: Literal["all"] | str | Unset
    if isinstance(state, Unset):
        json_state = UNSET
    elif isinstance(state, RequestState):
        json_state = state.value
    else:
        json_state = state
    params["state"] = json_state

    json_after: None | str | Unset
    if isinstance(after, Unset):
        json_after = UNSET
    else:
        json_after = after
    params["after"] = json_after

    params["limit"] = limit

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/restriction-requests",
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Problem | RestrictionQueue | ValidationProblem | None:
    if response.status_code == 200:
        response_200 = RestrictionQueue.from_dict(response.json())

        return response_200

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = Problem.from_dict(response.json())

        return response_403

    if response.status_code == 422:
        response_422 = ValidationProblem.from_dict(response.json())

        return response_422

    if response.status_code == 503:
        response_503 = Problem.from_dict(response.json())

        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[Problem | RestrictionQueue | ValidationProblem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    state: Literal["all"] | RequestState | Unset = RequestState.OPEN,
    after: None | str | Unset = UNSET,
    limit: int | Unset = 100,
) -> Response[Problem | RestrictionQueue | ValidationProblem]:
    """Restrictions

     The operator's queue, oldest first; page with `after` = the last id seen.

    Args:
        state (Literal['all'] | RequestState | Unset):  Default: RequestState.OPEN.
        after (None | str | Unset):
        limit (int | Unset):  Default: 100.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | RestrictionQueue | ValidationProblem]
    """

    kwargs = _get_kwargs(
        state=state,
        after=after,
        limit=limit,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
    state: Literal["all"] | RequestState | Unset = RequestState.OPEN,
    after: None | str | Unset = UNSET,
    limit: int | Unset = 100,
) -> Problem | RestrictionQueue | ValidationProblem | None:
    """Restrictions

     The operator's queue, oldest first; page with `after` = the last id seen.

    Args:
        state (Literal['all'] | RequestState | Unset):  Default: RequestState.OPEN.
        after (None | str | Unset):
        limit (int | Unset):  Default: 100.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | RestrictionQueue | ValidationProblem
    """

    return sync_detailed(
        client=client,
        state=state,
        after=after,
        limit=limit,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    state: Literal["all"] | RequestState | Unset = RequestState.OPEN,
    after: None | str | Unset = UNSET,
    limit: int | Unset = 100,
) -> Response[Problem | RestrictionQueue | ValidationProblem]:
    """Restrictions

     The operator's queue, oldest first; page with `after` = the last id seen.

    Args:
        state (Literal['all'] | RequestState | Unset):  Default: RequestState.OPEN.
        after (None | str | Unset):
        limit (int | Unset):  Default: 100.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | RestrictionQueue | ValidationProblem]
    """

    kwargs = _get_kwargs(
        state=state,
        after=after,
        limit=limit,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    state: Literal["all"] | RequestState | Unset = RequestState.OPEN,
    after: None | str | Unset = UNSET,
    limit: int | Unset = 100,
) -> Problem | RestrictionQueue | ValidationProblem | None:
    """Restrictions

     The operator's queue, oldest first; page with `after` = the last id seen.

    Args:
        state (Literal['all'] | RequestState | Unset):  Default: RequestState.OPEN.
        after (None | str | Unset):
        limit (int | Unset):  Default: 100.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | RestrictionQueue | ValidationProblem
    """

    return (
        await asyncio_detailed(
            client=client,
            state=state,
            after=after,
            limit=limit,
        )
    ).parsed
