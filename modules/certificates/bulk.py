"""Many certificates' PDFs as one ZIP, streamed: each PDF is written into the archive and
handed to the client before the next is read, so memory stays flat whatever the count."""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Iterable, Iterator

from modules.certificates.models import Certificate


class _Drain:
    """A write-only file that keeps what was written until it is taken (zipfile writes to
    unseekable streams with data descriptors)."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.position = 0

    def write(self, data: bytes) -> int:
        self.parts.append(bytes(data))
        self.position += len(data)
        return len(data)

    def tell(self) -> int:
        return self.position

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data, self.parts = b"".join(self.parts), []
        return data


def zip_stream(
    certificates: Iterable[Certificate], render: Callable[[Certificate], bytes]
) -> Iterator[bytes]:
    """The ZIP of every certificate's PDF, in chunks; PDFs are already compressed, so they
    are stored as they are."""
    sink = _Drain()
    names: set[str] = set()
    with zipfile.ZipFile(sink, mode="w", compression=zipfile.ZIP_STORED) as archive:  # type: ignore[call-overload]
        for certificate in certificates:
            name = f"{certificate.number.replace('/', '-')}.pdf"
            if name in names:  # numbers are unique; a pattern without the year could repeat
                name = f"{certificate.code}.pdf"
            names.add(name)
            info = zipfile.ZipInfo(name, date_time=certificate.issued_at.timetuple()[:6])
            with archive.open(info, mode="w") as entry:
                entry.write(render(certificate))
            yield sink.take()
    yield sink.take()
