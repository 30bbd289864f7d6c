"""Loads the DNS record types that browsers' mDNS answers carry, before aioice parses one on the event loop.

Browsers hide their addresses behind `.local` names; aioice resolves them over mDNS, and dnspython imports the module
of each record type the first time an answer holds it. On the event loop Home Assistant reports that import as a
blocking call (a warning with a traceback in the user's log), so the types are loaded here, in the import executor.
"""

from __future__ import annotations

import dns.rdata
import dns.rdataclass
import dns.rdatatype

# mDNS answers set the top bit of the class ("cache flush"); plain IN answers come too.
MDNS_CLASSES = (dns.rdataclass.IN, dns.rdataclass.RdataClass.make(dns.rdataclass.IN | 0x8000))
ADDRESS_TYPES = (dns.rdatatype.A, dns.rdatatype.AAAA)


def load_mdns_record_types() -> None:
    """Import (once) the record classes for address answers; dnspython caches them for every later parse."""
    for rdclass in MDNS_CLASSES:
        for rdtype in ADDRESS_TYPES:
            dns.rdata.get_rdata_class(rdclass, rdtype)  # type: ignore[no-untyped-call]  # dnspython leaves it untyped
