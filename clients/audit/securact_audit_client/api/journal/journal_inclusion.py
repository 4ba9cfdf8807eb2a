from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.journal_inclusion_response_journal_inclusion import JournalInclusionResponseJournalInclusion
from ...models.problem import Problem
from ...models.validation_problem import ValidationProblem
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    index: int,
    size: int | None | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["index"] = index

    json_size: int | None | Unset
    if isinstance(size, Unset):
        json_size = UNSET
    else:
        json_size = size
    params["size"] = json_size

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/proofs/inclusion",
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> JournalInclusionResponseJournalInclusion | Problem | ValidationProblem | None:
    if response.status_code == 200:
        response_200 = JournalInclusionResponseJournalInclusion.from_dict(response.json())

        return response_200

    if response.status_code == 400:
        response_400 = Problem.from_dict(response.json())

        return response_400

    if response.status_code == 404:
        response_404 = Problem.from_dict(response.json())

        return response_404

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
) -> Response[JournalInclusionResponseJournalInclusion | Problem | ValidationProblem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    index: int,
    size: int | None | Unset = UNSET,
) -> Response[JournalInclusionResponseJournalInclusion | Problem | ValidationProblem]:
    """Inclusion

    Args:
        index (int):
        size (int | None | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[JournalInclusionResponseJournalInclusion | Problem | ValidationProblem]
    """

    kwargs = _get_kwargs(
        index=index,
        size=size,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    index: int,
    size: int | None | Unset = UNSET,
) -> JournalInclusionResponseJournalInclusion | Problem | ValidationProblem | None:
    """Inclusion

    Args:
        index (int):
        size (int | None | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        JournalInclusionResponseJournalInclusion | Problem | ValidationProblem
    """

    return sync_detailed(
        client=client,
        index=index,
        size=size,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    index: int,
    size: int | None | Unset = UNSET,
) -> Response[JournalInclusionResponseJournalInclusion | Problem | ValidationProblem]:
    """Inclusion

    Args:
        index (int):
        size (int | None | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[JournalInclusionResponseJournalInclusion | Problem | ValidationProblem]
    """

    kwargs = _get_kwargs(
        index=index,
        size=size,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    index: int,
    size: int | None | Unset = UNSET,
) -> JournalInclusionResponseJournalInclusion | Problem | ValidationProblem | None:
    """Inclusion

    Args:
        index (int):
        size (int | None | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        JournalInclusionResponseJournalInclusion | Problem | ValidationProblem
    """

    return (
        await asyncio_detailed(
            client=client,
            index=index,
            size=size,
        )
    ).parsed
