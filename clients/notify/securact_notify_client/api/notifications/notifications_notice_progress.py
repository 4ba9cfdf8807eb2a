from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.notice_progress import NoticeProgress
from ...models.problem import Problem
from ...models.validation_problem import ValidationProblem
from ...types import Response


def _get_kwargs(
    notice_id: str,
) -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/notices/{notice_id}".format(
            notice_id=quote(str(notice_id), safe=""),
        ),
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> NoticeProgress | Problem | ValidationProblem | None:
    if response.status_code == 200:
        response_200 = NoticeProgress.from_dict(response.json())

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
) -> Response[NoticeProgress | Problem | ValidationProblem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    notice_id: str,
    *,
    client: AuthenticatedClient,
) -> Response[NoticeProgress | Problem | ValidationProblem]:
    """Notice Progress

     Where a notice to users (maintenance, breach) stands: messages recorded, sent (the
    relay accepted them), failed, waiting. Operator only.

    Args:
        notice_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[NoticeProgress | Problem | ValidationProblem]
    """

    kwargs = _get_kwargs(
        notice_id=notice_id,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    notice_id: str,
    *,
    client: AuthenticatedClient,
) -> NoticeProgress | Problem | ValidationProblem | None:
    """Notice Progress

     Where a notice to users (maintenance, breach) stands: messages recorded, sent (the
    relay accepted them), failed, waiting. Operator only.

    Args:
        notice_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        NoticeProgress | Problem | ValidationProblem
    """

    return sync_detailed(
        notice_id=notice_id,
        client=client,
    ).parsed


async def asyncio_detailed(
    notice_id: str,
    *,
    client: AuthenticatedClient,
) -> Response[NoticeProgress | Problem | ValidationProblem]:
    """Notice Progress

     Where a notice to users (maintenance, breach) stands: messages recorded, sent (the
    relay accepted them), failed, waiting. Operator only.

    Args:
        notice_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[NoticeProgress | Problem | ValidationProblem]
    """

    kwargs = _get_kwargs(
        notice_id=notice_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    notice_id: str,
    *,
    client: AuthenticatedClient,
) -> NoticeProgress | Problem | ValidationProblem | None:
    """Notice Progress

     Where a notice to users (maintenance, breach) stands: messages recorded, sent (the
    relay accepted them), failed, waiting. Operator only.

    Args:
        notice_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        NoticeProgress | Problem | ValidationProblem
    """

    return (
        await asyncio_detailed(
            notice_id=notice_id,
            client=client,
        )
    ).parsed
