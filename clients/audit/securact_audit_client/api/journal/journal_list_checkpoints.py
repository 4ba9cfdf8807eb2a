from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.journal_list_checkpoints_response_journal_list_checkpoints import (
    JournalListCheckpointsResponseJournalListCheckpoints,
)
from ...models.problem import Problem
from ...models.validation_problem import ValidationProblem
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    from_size: int | Unset = 0,
    limit: int | Unset = 100,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["from_size"] = from_size

    params["limit"] = limit

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/checkpoints",
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> JournalListCheckpointsResponseJournalListCheckpoints | Problem | ValidationProblem | None:
    if response.status_code == 200:
        response_200 = JournalListCheckpointsResponseJournalListCheckpoints.from_dict(response.json())

        return response_200

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
) -> Response[JournalListCheckpointsResponseJournalListCheckpoints | Problem | ValidationProblem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    from_size: int | Unset = 0,
    limit: int | Unset = 100,
) -> Response[JournalListCheckpointsResponseJournalListCheckpoints | Problem | ValidationProblem]:
    """List Checkpoints

    Args:
        from_size (int | Unset):  Default: 0.
        limit (int | Unset):  Default: 100.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[JournalListCheckpointsResponseJournalListCheckpoints | Problem | ValidationProblem]
    """

    kwargs = _get_kwargs(
        from_size=from_size,
        limit=limit,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    from_size: int | Unset = 0,
    limit: int | Unset = 100,
) -> JournalListCheckpointsResponseJournalListCheckpoints | Problem | ValidationProblem | None:
    """List Checkpoints

    Args:
        from_size (int | Unset):  Default: 0.
        limit (int | Unset):  Default: 100.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        JournalListCheckpointsResponseJournalListCheckpoints | Problem | ValidationProblem
    """

    return sync_detailed(
        client=client,
        from_size=from_size,
        limit=limit,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    from_size: int | Unset = 0,
    limit: int | Unset = 100,
) -> Response[JournalListCheckpointsResponseJournalListCheckpoints | Problem | ValidationProblem]:
    """List Checkpoints

    Args:
        from_size (int | Unset):  Default: 0.
        limit (int | Unset):  Default: 100.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[JournalListCheckpointsResponseJournalListCheckpoints | Problem | ValidationProblem]
    """

    kwargs = _get_kwargs(
        from_size=from_size,
        limit=limit,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    from_size: int | Unset = 0,
    limit: int | Unset = 100,
) -> JournalListCheckpointsResponseJournalListCheckpoints | Problem | ValidationProblem | None:
    """List Checkpoints

    Args:
        from_size (int | Unset):  Default: 0.
        limit (int | Unset):  Default: 100.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        JournalListCheckpointsResponseJournalListCheckpoints | Problem | ValidationProblem
    """

    return (
        await asyncio_detailed(
            client=client,
            from_size=from_size,
            limit=limit,
        )
    ).parsed
