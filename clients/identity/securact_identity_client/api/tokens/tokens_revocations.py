import datetime
from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.problem import Problem
from ...models.tokens_revocations_response_tokens_revocations import TokensRevocationsResponseTokensRevocations
from ...models.validation_problem import ValidationProblem
from ...types import UNSET, Response


def _get_kwargs(
    *,
    since: datetime.datetime,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    json_since = since.isoformat()
    params["since"] = json_since

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/revocations",
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Problem | TokensRevocationsResponseTokensRevocations | ValidationProblem | None:
    if response.status_code == 200:
        response_200 = TokensRevocationsResponseTokensRevocations.from_dict(response.json())

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
) -> Response[Problem | TokensRevocationsResponseTokensRevocations | ValidationProblem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    since: datetime.datetime,
) -> Response[Problem | TokensRevocationsResponseTokensRevocations | ValidationProblem]:
    """Revocations

     Revocations of the last access-token lifetime, for services that just started.

    Args:
        since (datetime.datetime): ISO instant

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | TokensRevocationsResponseTokensRevocations | ValidationProblem]
    """

    kwargs = _get_kwargs(
        since=since,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    since: datetime.datetime,
) -> Problem | TokensRevocationsResponseTokensRevocations | ValidationProblem | None:
    """Revocations

     Revocations of the last access-token lifetime, for services that just started.

    Args:
        since (datetime.datetime): ISO instant

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | TokensRevocationsResponseTokensRevocations | ValidationProblem
    """

    return sync_detailed(
        client=client,
        since=since,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    since: datetime.datetime,
) -> Response[Problem | TokensRevocationsResponseTokensRevocations | ValidationProblem]:
    """Revocations

     Revocations of the last access-token lifetime, for services that just started.

    Args:
        since (datetime.datetime): ISO instant

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | TokensRevocationsResponseTokensRevocations | ValidationProblem]
    """

    kwargs = _get_kwargs(
        since=since,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    since: datetime.datetime,
) -> Problem | TokensRevocationsResponseTokensRevocations | ValidationProblem | None:
    """Revocations

     Revocations of the last access-token lifetime, for services that just started.

    Args:
        since (datetime.datetime): ISO instant

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | TokensRevocationsResponseTokensRevocations | ValidationProblem
    """

    return (
        await asyncio_detailed(
            client=client,
            since=since,
        )
    ).parsed
