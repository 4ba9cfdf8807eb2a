from http import HTTPStatus
from io import BytesIO
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.problem import Problem
from ...models.validation_problem import ValidationProblem
from ...types import File, Response


def _get_kwargs(
    act_id: str,
) -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/inbox/{act_id}/evidence.pdf".format(
            act_id=quote(str(act_id), safe=""),
        ),
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> File | Problem | ValidationProblem | None:
    if response.status_code == 200:
        response_200 = File(payload=BytesIO(response.content))

        return response_200

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = Problem.from_dict(response.json())

        return response_403

    if response.status_code == 404:
        response_404 = Problem.from_dict(response.json())

        return response_404

    if response.status_code == 410:
        response_410 = Problem.from_dict(response.json())

        return response_410

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
) -> Response[File | Problem | ValidationProblem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    act_id: str,
    *,
    client: AuthenticatedClient,
) -> Response[File | Problem | ValidationProblem]:
    """Recipient Evidence Report

     The act's sealed evidence report (as the office's).

    Args:
        act_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[File | Problem | ValidationProblem]
    """

    kwargs = _get_kwargs(
        act_id=act_id,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    act_id: str,
    *,
    client: AuthenticatedClient,
) -> File | Problem | ValidationProblem | None:
    """Recipient Evidence Report

     The act's sealed evidence report (as the office's).

    Args:
        act_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        File | Problem | ValidationProblem
    """

    return sync_detailed(
        act_id=act_id,
        client=client,
    ).parsed


async def asyncio_detailed(
    act_id: str,
    *,
    client: AuthenticatedClient,
) -> Response[File | Problem | ValidationProblem]:
    """Recipient Evidence Report

     The act's sealed evidence report (as the office's).

    Args:
        act_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[File | Problem | ValidationProblem]
    """

    kwargs = _get_kwargs(
        act_id=act_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    act_id: str,
    *,
    client: AuthenticatedClient,
) -> File | Problem | ValidationProblem | None:
    """Recipient Evidence Report

     The act's sealed evidence report (as the office's).

    Args:
        act_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        File | Problem | ValidationProblem
    """

    return (
        await asyncio_detailed(
            act_id=act_id,
            client=client,
        )
    ).parsed
