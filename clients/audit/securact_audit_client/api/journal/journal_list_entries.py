from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.journal_list_entries_response_journal_list_entries import JournalListEntriesResponseJournalListEntries
from ...models.problem import Problem
from ...models.validation_problem import ValidationProblem
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    subject: None | str | Unset = UNSET,
    type_: None | str | Unset = UNSET,
    event_id: None | str | Unset = UNSET,
    after: int | Unset = -1,
    limit: int | Unset = 100,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    json_subject: None | str | Unset
    if isinstance(subject, Unset):
        json_subject = UNSET
    else:
        json_subject = subject
    params["subject"] = json_subject

    json_type_: None | str | Unset
    if isinstance(type_, Unset):
        json_type_ = UNSET
    else:
        json_type_ = type_
    params["type"] = json_type_

    json_event_id: None | str | Unset
    if isinstance(event_id, Unset):
        json_event_id = UNSET
    else:
        json_event_id = event_id
    params["event_id"] = json_event_id

    params["after"] = after

    params["limit"] = limit

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/entries",
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> JournalListEntriesResponseJournalListEntries | Problem | ValidationProblem | None:
    if response.status_code == 200:
        response_200 = JournalListEntriesResponseJournalListEntries.from_dict(response.json())

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
) -> Response[JournalListEntriesResponseJournalListEntries | Problem | ValidationProblem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    subject: None | str | Unset = UNSET,
    type_: None | str | Unset = UNSET,
    event_id: None | str | Unset = UNSET,
    after: int | Unset = -1,
    limit: int | Unset = 100,
) -> Response[JournalListEntriesResponseJournalListEntries | Problem | ValidationProblem]:
    """List Entries

    Args:
        subject (None | str | Unset):
        type_ (None | str | Unset):
        event_id (None | str | Unset): exact event id (for receipts)
        after (int | Unset): return entries after this index Default: -1.
        limit (int | Unset):  Default: 100.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[JournalListEntriesResponseJournalListEntries | Problem | ValidationProblem]
    """

    kwargs = _get_kwargs(
        subject=subject,
        type_=type_,
        event_id=event_id,
        after=after,
        limit=limit,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    subject: None | str | Unset = UNSET,
    type_: None | str | Unset = UNSET,
    event_id: None | str | Unset = UNSET,
    after: int | Unset = -1,
    limit: int | Unset = 100,
) -> JournalListEntriesResponseJournalListEntries | Problem | ValidationProblem | None:
    """List Entries

    Args:
        subject (None | str | Unset):
        type_ (None | str | Unset):
        event_id (None | str | Unset): exact event id (for receipts)
        after (int | Unset): return entries after this index Default: -1.
        limit (int | Unset):  Default: 100.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        JournalListEntriesResponseJournalListEntries | Problem | ValidationProblem
    """

    return sync_detailed(
        client=client,
        subject=subject,
        type_=type_,
        event_id=event_id,
        after=after,
        limit=limit,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    subject: None | str | Unset = UNSET,
    type_: None | str | Unset = UNSET,
    event_id: None | str | Unset = UNSET,
    after: int | Unset = -1,
    limit: int | Unset = 100,
) -> Response[JournalListEntriesResponseJournalListEntries | Problem | ValidationProblem]:
    """List Entries

    Args:
        subject (None | str | Unset):
        type_ (None | str | Unset):
        event_id (None | str | Unset): exact event id (for receipts)
        after (int | Unset): return entries after this index Default: -1.
        limit (int | Unset):  Default: 100.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[JournalListEntriesResponseJournalListEntries | Problem | ValidationProblem]
    """

    kwargs = _get_kwargs(
        subject=subject,
        type_=type_,
        event_id=event_id,
        after=after,
        limit=limit,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    subject: None | str | Unset = UNSET,
    type_: None | str | Unset = UNSET,
    event_id: None | str | Unset = UNSET,
    after: int | Unset = -1,
    limit: int | Unset = 100,
) -> JournalListEntriesResponseJournalListEntries | Problem | ValidationProblem | None:
    """List Entries

    Args:
        subject (None | str | Unset):
        type_ (None | str | Unset):
        event_id (None | str | Unset): exact event id (for receipts)
        after (int | Unset): return entries after this index Default: -1.
        limit (int | Unset):  Default: 100.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        JournalListEntriesResponseJournalListEntries | Problem | ValidationProblem
    """

    return (
        await asyncio_detailed(
            client=client,
            subject=subject,
            type_=type_,
            event_id=event_id,
            after=after,
            limit=limit,
        )
    ).parsed
