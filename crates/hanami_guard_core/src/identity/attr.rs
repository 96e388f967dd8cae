//! Attribute types of distinguished names: short names, long names and OIDs. How their values
//! compare is [`super::fold`]'s job.

/// One known attribute type: its short name (as RFC 4514 prints it), its long name, its OID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttrType {
    /// The short name used by `to_s`, `to_a` and policies (`CN`, `O`, ...).
    pub short: &'static str,
    /// The long name (`commonName`, ...).
    pub long: &'static str,
    /// The dotted OID.
    pub oid: &'static str,
}

/// The attribute types given short names. Others print as their dotted OID.
pub const KNOWN: &[AttrType] = &[
    AttrType {
        short: "CN",
        long: "commonName",
        oid: "2.5.4.3",
    },
    AttrType {
        short: "SN",
        long: "surname",
        oid: "2.5.4.4",
    },
    AttrType {
        short: "serialNumber",
        long: "serialNumber",
        oid: "2.5.4.5",
    },
    AttrType {
        short: "C",
        long: "countryName",
        oid: "2.5.4.6",
    },
    AttrType {
        short: "L",
        long: "localityName",
        oid: "2.5.4.7",
    },
    AttrType {
        short: "ST",
        long: "stateOrProvinceName",
        oid: "2.5.4.8",
    },
    AttrType {
        short: "street",
        long: "streetAddress",
        oid: "2.5.4.9",
    },
    AttrType {
        short: "O",
        long: "organizationName",
        oid: "2.5.4.10",
    },
    AttrType {
        short: "OU",
        long: "organizationalUnitName",
        oid: "2.5.4.11",
    },
    AttrType {
        short: "title",
        long: "title",
        oid: "2.5.4.12",
    },
    AttrType {
        short: "postalCode",
        long: "postalCode",
        oid: "2.5.4.17",
    },
    AttrType {
        short: "GN",
        long: "givenName",
        oid: "2.5.4.42",
    },
    AttrType {
        short: "initials",
        long: "initials",
        oid: "2.5.4.43",
    },
    AttrType {
        short: "generationQualifier",
        long: "generationQualifier",
        oid: "2.5.4.44",
    },
    AttrType {
        short: "dnQualifier",
        long: "dnQualifier",
        oid: "2.5.4.46",
    },
    AttrType {
        short: "pseudonym",
        long: "pseudonym",
        oid: "2.5.4.65",
    },
    AttrType {
        short: "organizationIdentifier",
        long: "organizationIdentifier",
        oid: "2.5.4.97",
    },
    AttrType {
        short: "UID",
        long: "userId",
        oid: "0.9.2342.19200300.100.1.1",
    },
    AttrType {
        short: "DC",
        long: "domainComponent",
        oid: "0.9.2342.19200300.100.1.25",
    },
    AttrType {
        short: "emailAddress",
        long: "emailAddress",
        oid: "1.2.840.113549.1.9.1",
    },
];

/// Looks up an attribute type by short name, long name or dotted OID, case-insensitively
/// (RFC 4514 section 3: attribute type names are case-insensitive).
pub fn lookup(name: &str) -> Option<&'static AttrType> {
    let name = name.trim();
    let name = name
        .strip_prefix("OID.")
        .or_else(|| name.strip_prefix("oid."))
        .unwrap_or(name);
    KNOWN.iter().find(|t| {
        t.oid == name || t.short.eq_ignore_ascii_case(name) || t.long.eq_ignore_ascii_case(name)
    })
}

/// The dotted OID for a type name, or `None` if the name is neither known nor a valid dotted OID.
pub fn oid_for(name: &str) -> Option<String> {
    if let Some(t) = lookup(name) {
        return Some(t.oid.to_owned());
    }
    let name = name.trim();
    let name = name
        .strip_prefix("OID.")
        .or_else(|| name.strip_prefix("oid."))
        .unwrap_or(name);
    is_dotted_oid(name).then(|| name.to_owned())
}

/// The name printed for an OID: the short name when known, else the OID itself.
pub fn short_name_for_oid(oid: &str) -> String {
    KNOWN
        .iter()
        .find(|t| t.oid == oid)
        .map(|t| t.short.to_owned())
        .unwrap_or_else(|| oid.to_owned())
}

/// Whether `s` is a dotted-decimal OID (`2.5.4.3`): two or more numeric arcs, no leading zeros.
pub fn is_dotted_oid(s: &str) -> bool {
    let mut arcs = 0;
    for arc in s.split('.') {
        if arc.is_empty()
            || !arc.bytes().all(|b| b.is_ascii_digit())
            || (arc.len() > 1 && arc.starts_with('0'))
        {
            return false;
        }
        arcs += 1;
    }
    arcs >= 2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn looks_up_short_long_and_oid_names_case_insensitively() {
        assert_eq!(lookup("cn").map(|t| t.oid), Some("2.5.4.3"));
        assert_eq!(lookup("commonName").map(|t| t.short), Some("CN"));
        assert_eq!(lookup("2.5.4.10").map(|t| t.short), Some("O"));
        assert_eq!(oid_for("1.2.3.4").as_deref(), Some("1.2.3.4"));
        assert_eq!(oid_for("nonsense"), None);
        assert_eq!(oid_for("1..2"), None);
    }
}
