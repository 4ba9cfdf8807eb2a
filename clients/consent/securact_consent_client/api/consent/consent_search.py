import datetime
from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.lookup_hit import LookupHit
from ...models.lookup_miss import LookupMiss
from ...models.problem import Problem
from ...models.validation_problem import ValidationProblem
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    purpose: str,
    nom: None | str | Unset = UNSET,
    prenoms: None | str | Unset = UNSET,
    date_naissance: datetime.date | None | Unset = UNSET,
    lieu_naissance: None | str | Unset = UNSET,
    siren: None | str | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["purpose"] = purpose

    json_nom: None | str | Unset
    if isinstance(nom, Unset):
        json_nom = UNSET
    else:
        json_nom = nom
    params["nom"] = json_nom

    json_prenoms: None | str | Unset
    if isinstance(prenoms, Unset):
        json_prenoms = UNSET
    else:
        json_prenoms = prenoms
    params["prenoms"] = json_prenoms

    json_date_naissance: None | str | Unset
    if isinstance(date_naissance, Unset):
        json_date_naissance = UNSET
    elif isinstance(date_naissance, datetime.date):
        json_date_naissance = date_naissance.isoformat()
    else:
        json_date_naissance = date_naissance
    params["date_naissance"] = json_date_naissance

    json_lieu_naissance: None | str | Unset
    if isinstance(lieu_naissance, Unset):
        json_lieu_naissance = UNSET
    else:
        json_lieu_naissance = lieu_naissance
    params["lieu_naissance"] = json_lieu_naissance

    json_siren: None | str | Unset
    if isinstance(siren, Unset):
        json_siren = UNSET
    else:
        json_siren = siren
    params["siren"] = json_siren

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/registry/search",
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> LookupHit | LookupMiss | Problem | ValidationProblem | None:
    if response.status_code == 200:

        def _parse_response_200(data: object) -> LookupHit | LookupMiss:
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                response_200_type_0 = LookupHit.from_dict(data)

                return response_200_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            if not isinstance(data, dict):
                raise TypeError()
            response_200_type_1 = LookupMiss.from_dict(data)

            return response_200_type_1

        response_200 = _parse_response_200(response.json())

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
) -> Response[LookupHit | LookupMiss | Problem | ValidationProblem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    purpose: str,
    nom: None | str | Unset = UNSET,
    prenoms: None | str | Unset = UNSET,
    date_naissance: datetime.date | None | Unset = UNSET,
    lieu_naissance: None | str | Unset = UNSET,
    siren: None | str | Unset = UNSET,
) -> Response[LookupHit | LookupMiss | Problem | ValidationProblem]:
    """Search

     Exact lookup by (nom, prénoms, date of birth[, place]) or by SIREN: no listing,
    no fuzzy match. Every lookup is journaled with its purpose. Prefer the POST form:
    a query string ends up in proxies' and tracing systems' URLs.

    Args:
        purpose (str): the office's file reference
        nom (None | str | Unset):
        prenoms (None | str | Unset):
        date_naissance (datetime.date | None | Unset):
        lieu_naissance (None | str | Unset):
        siren (None | str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[LookupHit | LookupMiss | Problem | ValidationProblem]
    """

    kwargs = _get_kwargs(
        purpose=purpose,
        nom=nom,
        prenoms=prenoms,
        date_naissance=date_naissance,
        lieu_naissance=lieu_naissance,
        siren=siren,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
    purpose: str,
    nom: None | str | Unset = UNSET,
    prenoms: None | str | Unset = UNSET,
    date_naissance: datetime.date | None | Unset = UNSET,
    lieu_naissance: None | str | Unset = UNSET,
    siren: None | str | Unset = UNSET,
) -> LookupHit | LookupMiss | Problem | ValidationProblem | None:
    """Search

     Exact lookup by (nom, prénoms, date of birth[, place]) or by SIREN: no listing,
    no fuzzy match. Every lookup is journaled with its purpose. Prefer the POST form:
    a query string ends up in proxies' and tracing systems' URLs.

    Args:
        purpose (str): the office's file reference
        nom (None | str | Unset):
        prenoms (None | str | Unset):
        date_naissance (datetime.date | None | Unset):
        lieu_naissance (None | str | Unset):
        siren (None | str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        LookupHit | LookupMiss | Problem | ValidationProblem
    """

    return sync_detailed(
        client=client,
        purpose=purpose,
        nom=nom,
        prenoms=prenoms,
        date_naissance=date_naissance,
        lieu_naissance=lieu_naissance,
        siren=siren,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    purpose: str,
    nom: None | str | Unset = UNSET,
    prenoms: None | str | Unset = UNSET,
    date_naissance: datetime.date | None | Unset = UNSET,
    lieu_naissance: None | str | Unset = UNSET,
    siren: None | str | Unset = UNSET,
) -> Response[LookupHit | LookupMiss | Problem | ValidationProblem]:
    """Search

     Exact lookup by (nom, prénoms, date of birth[, place]) or by SIREN: no listing,
    no fuzzy match. Every lookup is journaled with its purpose. Prefer the POST form:
    a query string ends up in proxies' and tracing systems' URLs.

    Args:
        purpose (str): the office's file reference
        nom (None | str | Unset):
        prenoms (None | str | Unset):
        date_naissance (datetime.date | None | Unset):
        lieu_naissance (None | str | Unset):
        siren (None | str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[LookupHit | LookupMiss | Problem | ValidationProblem]
    """

    kwargs = _get_kwargs(
        purpose=purpose,
        nom=nom,
        prenoms=prenoms,
        date_naissance=date_naissance,
        lieu_naissance=lieu_naissance,
        siren=siren,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    purpose: str,
    nom: None | str | Unset = UNSET,
    prenoms: None | str | Unset = UNSET,
    date_naissance: datetime.date | None | Unset = UNSET,
    lieu_naissance: None | str | Unset = UNSET,
    siren: None | str | Unset = UNSET,
) -> LookupHit | LookupMiss | Problem | ValidationProblem | None:
    """Search

     Exact lookup by (nom, prénoms, date of birth[, place]) or by SIREN: no listing,
    no fuzzy match. Every lookup is journaled with its purpose. Prefer the POST form:
    a query string ends up in proxies' and tracing systems' URLs.

    Args:
        purpose (str): the office's file reference
        nom (None | str | Unset):
        prenoms (None | str | Unset):
        date_naissance (datetime.date | None | Unset):
        lieu_naissance (None | str | Unset):
        siren (None | str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        LookupHit | LookupMiss | Problem | ValidationProblem
    """

    return (
        await asyncio_detailed(
            client=client,
            purpose=purpose,
            nom=nom,
            prenoms=prenoms,
            date_naissance=date_naissance,
            lieu_naissance=lieu_naissance,
            siren=siren,
        )
    ).parsed
