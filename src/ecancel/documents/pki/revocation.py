"""Revocation data: this deployment's own CRL is answered in-process, never over HTTP.

pyHanko gathers a CRL for each certificate it embeds validation data for. A certificate of the local
CA names this deployment's public CRL URL; fetching that from ourselves would tie signing to the web
server being up and reachable from the worker. When signing, any other URL (a production CA's) is
fetched as usual; when verifying, nothing else is fetched (:class:`OfflineFetcherBackend`).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Iterable

from asn1crypto import cms, crl, ocsp, x509
from pyhanko_certvalidator.authority import Authority
from pyhanko_certvalidator.errors import OCSPFetchError
from pyhanko_certvalidator.fetchers.aiohttp_fetchers import AIOHttpFetcherBackend
from pyhanko_certvalidator.fetchers.api import CertificateFetcher, CRLFetcher, FetcherBackend, Fetchers, OCSPFetcher
from pyhanko_certvalidator.fetchers.common_utils import enumerate_delivery_point_urls
from pyhanko_certvalidator.util import get_relevant_crl_dps, issuer_serial

from ecancel.documents.pki.backends import deployment_ca

OwnCRL = Callable[[str], bytes | None]
_NO_CERTIFICATES: tuple[x509.Certificate, ...] = ()


class LocalFirstCRLFetcher(CRLFetcher):
    """Answers the CRL URLs ``own`` knows; hands every other certificate to ``network``."""

    def __init__(self, own: OwnCRL, network: CRLFetcher) -> None:
        self._own = own
        self._network = network
        self._by_cert: dict[bytes, list[crl.CertificateList]] = {}

    async def fetch(
        self, cert: x509.Certificate | cms.AttributeCertificateV2, *, use_deltas: bool | None = None
    ) -> Iterable[crl.CertificateList]:
        key = issuer_serial(cert)
        if key in self._by_cert:
            return self._by_cert[key]
        urls = [url for point in get_relevant_crl_dps(cert, use_deltas=False) for url in _urls(point)]
        answers = [answer for answer in map(self._own, urls) if answer is not None]
        if not answers:
            return await self._network.fetch(cert, use_deltas=use_deltas)
        self._by_cert[key] = [crl.CertificateList.load(answer) for answer in answers]
        return self._by_cert[key]

    def fetched_crls(self) -> Iterable[crl.CertificateList]:
        return [*(item for items in self._by_cert.values() for item in items), *self._network.fetched_crls()]

    def fetched_crls_for_cert(
        self, cert: x509.Certificate | cms.AttributeCertificateV2
    ) -> Iterable[crl.CertificateList]:
        key = issuer_serial(cert)
        if key in self._by_cert:
            return self._by_cert[key]
        return self._network.fetched_crls_for_cert(cert)


class LocalFirstFetcherBackend(FetcherBackend):
    """pyHanko's HTTP fetchers, except that this deployment's own CRL is made here."""

    def __init__(self, own: OwnCRL | None = None) -> None:
        self._own = own or own_crl
        self._network = AIOHttpFetcherBackend()

    def get_fetchers(self) -> Fetchers:
        network = self._network.get_fetchers()
        return Fetchers(
            ocsp_fetcher=network.ocsp_fetcher,
            crl_fetcher=LocalFirstCRLFetcher(self._own, network.crl_fetcher),
            cert_fetcher=network.cert_fetcher,
        )

    async def close(self) -> None:
        await self._network.close()


class _NoCRLs(CRLFetcher):
    async def fetch(
        self, cert: x509.Certificate | cms.AttributeCertificateV2, *, use_deltas: bool | None = None
    ) -> Iterable[crl.CertificateList]:
        return []

    def fetched_crls(self) -> Iterable[crl.CertificateList]:
        return []

    def fetched_crls_for_cert(
        self, cert: x509.Certificate | cms.AttributeCertificateV2
    ) -> Iterable[crl.CertificateList]:
        return []


class _NoOCSP(OCSPFetcher):
    async def fetch(
        self, cert: x509.Certificate | cms.AttributeCertificateV2, authority: Authority
    ) -> ocsp.OCSPResponse:
        raise OCSPFetchError("this verifier does not go online")

    def fetched_responses(self) -> Iterable[ocsp.OCSPResponse]:
        return []

    def fetched_responses_for_cert(
        self, cert: x509.Certificate | cms.AttributeCertificateV2
    ) -> Iterable[ocsp.OCSPResponse]:
        return []


class _NoCertificates(CertificateFetcher):
    async def fetch_cert_issuers(
        self, cert: x509.Certificate | cms.AttributeCertificateV2
    ) -> AsyncGenerator[x509.Certificate, None]:
        for certificate in _NO_CERTIFICATES:
            yield certificate

    async def fetch_crl_issuers(self, certificate_list: crl.CertificateList) -> AsyncGenerator[x509.Certificate, None]:
        for certificate in _NO_CERTIFICATES:
            yield certificate

    def fetched_certs(self) -> Iterable[x509.Certificate]:
        return []


class OfflineFetcherBackend(FetcherBackend):
    """For verification: this deployment's own CRL, made in-process, and nothing from the network."""

    def __init__(self, own: OwnCRL | None = None) -> None:
        self._own = own or own_crl

    def get_fetchers(self) -> Fetchers:
        return Fetchers(
            ocsp_fetcher=_NoOCSP(),
            crl_fetcher=LocalFirstCRLFetcher(self._own, _NoCRLs()),
            cert_fetcher=_NoCertificates(),
        )


def own_crl(url: str) -> bytes | None:
    """This deployment's CRL when ``url`` is where its local CA publishes it, else None."""
    ca = deployment_ca()
    if not ca.root_certificate_path.exists() or url != ca.crl_url():
        return None
    return ca.crl()


def _urls(point: x509.DistributionPoint) -> list[str]:
    return list(enumerate_delivery_point_urls(point))
