//! The code tables of Elastic's Security pipeline scripts "Set User Account
//! Control", "Set Kerberos Ticket Options", "… Encryption Types", "…
//! Ticket Status Codes", "Set Audit Information" and "Set Trust Type /
//! Direction / Attributes", and the decoders that read them. The account
//! control names are MS-SAMR's `USER_*` codes (2.2.1.12), as the pipeline's
//! expected outputs and the rules (`NewUACList == "USER_DONT_REQUIRE_PREAUTH"`)
//! spell them; `NewUacValue` is SAM's account control, not LDAP's.

/// MS-SAMR USER_ACCOUNT codes, bit → name.
static USER_ACCOUNT: &[(u64, &str)] = &[
    (0x0000_0001, "USER_ACCOUNT_DISABLED"),
    (0x0000_0002, "USER_HOME_DIRECTORY_REQUIRED"),
    (0x0000_0004, "USER_PASSWORD_NOT_REQUIRED"),
    (0x0000_0008, "USER_TEMP_DUPLICATE_ACCOUNT"),
    (0x0000_0010, "USER_NORMAL_ACCOUNT"),
    (0x0000_0020, "USER_MNS_LOGON_ACCOUNT"),
    (0x0000_0040, "USER_INTERDOMAIN_TRUST_ACCOUNT"),
    (0x0000_0080, "USER_WORKSTATION_TRUST_ACCOUNT"),
    (0x0000_0100, "USER_SERVER_TRUST_ACCOUNT"),
    (0x0000_0200, "USER_DONT_EXPIRE_PASSWORD"),
    (0x0000_0400, "USER_ACCOUNT_AUTO_LOCKED"),
    (0x0000_0800, "USER_ENCRYPTED_TEXT_PASSWORD_ALLOWED"),
    (0x0000_1000, "USER_SMARTCARD_REQUIRED"),
    (0x0000_2000, "USER_TRUSTED_FOR_DELEGATION"),
    (0x0000_4000, "USER_NOT_DELEGATED"),
    (0x0000_8000, "USER_USE_DES_KEY_ONLY"),
    (0x0001_0000, "USER_DONT_REQUIRE_PREAUTH"),
    (0x0002_0000, "USER_PASSWORD_EXPIRED"),
    (0x0004_0000, "USER_TRUSTED_TO_AUTHENTICATE_FOR_DELEGATION"),
    (0x0008_0000, "USER_NO_AUTH_DATA_REQUIRED"),
    (0x0010_0000, "USER_PARTIAL_SECRETS_ACCOUNT"),
    (0x0020_0000, "USER_USE_AES_KEYS"),
];

/// Kerberos ticket option flags (4768, 4769, 4770), as the pipeline names
/// them.
static TICKET_OPTIONS: &[(u64, &str)] = &[
    (0x4000_0000, "Forwardable"),
    (0x2000_0000, "Forwarded"),
    (0x1000_0000, "Proxiable"),
    (0x0800_0000, "Proxy"),
    (0x0400_0000, "Allow-postdate"),
    (0x0200_0000, "Postdated"),
    (0x0100_0000, "Invalid"),
    (0x0080_0000, "Renewable"),
    (0x0040_0000, "Initial"),
    (0x0020_0000, "Pre-authent"),
    (0x0010_0000, "Opt-hardware-auth"),
    (0x0008_0000, "Transited-policy-checked"),
    (0x0004_0000, "Ok-as-delegate"),
    (0x0002_0000, "Request-anonymous"),
    (0x0001_0000, "Name-canonicalize"),
    (0x0000_0020, "Disable-transited-check"),
    (0x0000_0010, "Renewable-ok"),
    (0x0000_0008, "Enc-tkt-in-skey"),
    (0x0000_0002, "Renew"),
    (0x0000_0001, "Validate"),
];

/// Kerberos encryption type → name (the pipeline looks the lower-cased
/// value up).
static ENCRYPTION_TYPES: &[(&str, &str)] = &[
    ("0x1", "DES-CBC-CRC"),
    ("0x3", "DES-CBC-MD5"),
    ("0x11", "AES128-CTS-HMAC-SHA1-96"),
    ("0x12", "AES256-CTS-HMAC-SHA1-96"),
    ("0x17", "RC4-HMAC"),
    ("0x18", "RC4-HMAC-EXP"),
    ("0xffffffff", "FAIL"),
];

/// Kerberos result codes (RFC 4120 7.5.9) of 4768–4771 and 4793.
static KDC_STATUS: &[(u32, &str)] = &[
    (0x0, "KDC_ERR_NONE"),
    (0x1, "KDC_ERR_NAME_EXP"),
    (0x2, "KDC_ERR_SERVICE_EXP"),
    (0x3, "KDC_ERR_BAD_PVNO"),
    (0x4, "KDC_ERR_C_OLD_MAST_KVNO"),
    (0x5, "KDC_ERR_S_OLD_MAST_KVNO"),
    (0x6, "KDC_ERR_C_PRINCIPAL_UNKNOWN"),
    (0x7, "KDC_ERR_S_PRINCIPAL_UNKNOWN"),
    (0x8, "KDC_ERR_PRINCIPAL_NOT_UNIQUE"),
    (0x9, "KDC_ERR_NULL_KEY"),
    (0xA, "KDC_ERR_CANNOT_POSTDATE"),
    (0xB, "KDC_ERR_NEVER_VALID"),
    (0xC, "KDC_ERR_POLICY"),
    (0xD, "KDC_ERR_BADOPTION"),
    (0xE, "KDC_ERR_ETYPE_NOTSUPP"),
    (0xF, "KDC_ERR_SUMTYPE_NOSUPP"),
    (0x10, "KDC_ERR_PADATA_TYPE_NOSUPP"),
    (0x11, "KDC_ERR_TRTYPE_NO_SUPP"),
    (0x12, "KDC_ERR_CLIENT_REVOKED"),
    (0x13, "KDC_ERR_SERVICE_REVOKED"),
    (0x14, "KDC_ERR_TGT_REVOKED"),
    (0x15, "KDC_ERR_CLIENT_NOTYET"),
    (0x16, "KDC_ERR_SERVICE_NOTYET"),
    (0x17, "KDC_ERR_KEY_EXPIRED"),
    (0x18, "KDC_ERR_PREAUTH_FAILED"),
    (0x19, "KDC_ERR_PREAUTH_REQUIRED"),
    (0x1A, "KDC_ERR_SERVER_NOMATCH"),
    (0x1B, "KDC_ERR_MUST_USE_USER2USER"),
    (0x1F, "KRB_AP_ERR_BAD_INTEGRITY"),
    (0x20, "KRB_AP_ERR_TKT_EXPIRED"),
    (0x21, "KRB_AP_ERR_TKT_NYV"),
    (0x22, "KRB_AP_ERR_REPEAT"),
    (0x23, "KRB_AP_ERR_NOT_US"),
    (0x24, "KRB_AP_ERR_BADMATCH"),
    (0x25, "KRB_AP_ERR_SKEW"),
    (0x26, "KRB_AP_ERR_BADADDR"),
    (0x27, "KRB_AP_ERR_BADVERSION"),
    (0x28, "KRB_AP_ERR_MSG_TYPE"),
    (0x29, "KRB_AP_ERR_MODIFIED"),
    (0x2A, "KRB_AP_ERR_BADORDER"),
    (0x2C, "KRB_AP_ERR_BADKEYVER"),
    (0x2D, "KRB_AP_ERR_NOKEY"),
    (0x2E, "KRB_AP_ERR_MUT_FAIL"),
    (0x2F, "KRB_AP_ERR_BADDIRECTION"),
    (0x30, "KRB_AP_ERR_METHOD"),
    (0x31, "KRB_AP_ERR_BADSEQ"),
    (0x32, "KRB_AP_ERR_INAPP_CKSUM"),
    (0x33, "KRB_AP_PATH_NOT_ACCEPTED"),
    (0x34, "KRB_ERR_RESPONSE_TOO_BIG"),
    (0x3C, "KRB_ERR_GENERIC"),
    (0x3D, "KRB_ERR_FIELD_TOOLONG"),
    (0x3E, "KDC_ERR_CLIENT_NOT_TRUSTED"),
    (0x3F, "KDC_ERR_KDC_NOT_TRUSTED"),
    (0x40, "KDC_ERR_INVALID_SIG"),
    (0x41, "KDC_ERR_KEY_TOO_WEAK"),
    (0x42, "KRB_AP_ERR_USER_TO_USER_REQUIRED"),
    (0x43, "KRB_AP_ERR_NO_TGT"),
    (0x44, "KDC_ERR_WRONG_REALM"),
];

/// Audit subcategory GUID (MS-GPAC 2.2.1.2; all end in
/// `-69AE-11D9-BED3-505054503030`) → (subcategory, category), by the first
/// group of hex digits.
static AUDIT_SUBCATEGORIES: &[(u32, &str, &str)] = &[
    (0x0CCE9210, "Security State Change", "System"),
    (0x0CCE9211, "Security System Extension", "System"),
    (0x0CCE9212, "System Integrity", "System"),
    (0x0CCE9213, "IPsec Driver", "System"),
    (0x0CCE9214, "Other System Events", "System"),
    (0x0CCE9215, "Logon", "Logon/Logoff"),
    (0x0CCE9216, "Logoff", "Logon/Logoff"),
    (0x0CCE9217, "Account Lockout", "Logon/Logoff"),
    (0x0CCE9218, "IPsec Main Mode", "Logon/Logoff"),
    (0x0CCE9219, "IPsec Quick Mode", "Logon/Logoff"),
    (0x0CCE921A, "IPsec Extended Mode", "Logon/Logoff"),
    (0x0CCE921B, "Special Logon", "Logon/Logoff"),
    (0x0CCE921C, "Other Logon/Logoff Events", "Logon/Logoff"),
    (0x0CCE921D, "File System", "Object Access"),
    (0x0CCE921E, "Registry", "Object Access"),
    (0x0CCE921F, "Kernel Object", "Object Access"),
    (0x0CCE9220, "SAM", "Object Access"),
    (0x0CCE9221, "Certification Services", "Object Access"),
    (0x0CCE9222, "Application Generated", "Object Access"),
    (0x0CCE9223, "Handle Manipulation", "Object Access"),
    (0x0CCE9224, "File Share", "Object Access"),
    (
        0x0CCE9225,
        "Filtering Platform Packet Drop",
        "Object Access",
    ),
    // (the trailing space is the pipeline's)
    (
        0x0CCE9226,
        "Filtering Platform Connection ",
        "Object Access",
    ),
    (0x0CCE9227, "Other Object Access Events", "Object Access"),
    (0x0CCE9228, "Sensitive Privilege Use", "Privilege Use"),
    (0x0CCE9229, "Non Sensitive Privilege Use", "Privilege Use"),
    (0x0CCE922A, "Other Privilege Use Events", "Privilege Use"),
    (0x0CCE922B, "Process Creation", "Detailed Tracking"),
    (0x0CCE922C, "Process Termination", "Detailed Tracking"),
    (0x0CCE922D, "DPAPI Activity", "Detailed Tracking"),
    (0x0CCE922E, "RPC Events", "Detailed Tracking"),
    (0x0CCE922F, "Audit Policy Change", "Policy Change"),
    (0x0CCE9230, "Authentication Policy Change", "Policy Change"),
    (0x0CCE9231, "Authorization Policy Change", "Policy Change"),
    (
        0x0CCE9232,
        "MPSSVC Rule-Level Policy Change",
        "Policy Change",
    ),
    (
        0x0CCE9233,
        "Filtering Platform Policy Change",
        "Policy Change",
    ),
    (0x0CCE9234, "Other Policy Change Events", "Policy Change"),
    (0x0CCE9235, "User Account Management", "Account Management"),
    (
        0x0CCE9236,
        "Computer Account Management",
        "Account Management",
    ),
    (
        0x0CCE9237,
        "Security Group Management",
        "Account Management",
    ),
    (
        0x0CCE9238,
        "Distribution Group Management",
        "Account Management",
    ),
    (
        0x0CCE9239,
        "Application Group Management",
        "Account Management",
    ),
    (
        0x0CCE923A,
        "Other Account Management Events",
        "Account Management",
    ),
    (0x0CCE923B, "Directory Service Access", "Account Management"),
    (
        0x0CCE923C,
        "Directory Service Changes",
        "Account Management",
    ),
    (
        0x0CCE923D,
        "Directory Service Replication",
        "Account Management",
    ),
    (
        0x0CCE923E,
        "Detailed Directory Service Replication",
        "Account Management",
    ),
    (0x0CCE923F, "Credential Validation", "Account Logon"),
    (
        0x0CCE9240,
        "Kerberos Service Ticket Operations",
        "Account Logon",
    ),
    (0x0CCE9241, "Other Account Logon Events", "Account Logon"),
    (
        0x0CCE9242,
        "Kerberos Authentication Service",
        "Account Logon",
    ),
    (0x0CCE9243, "Network Policy Server", "Logon/Logoff"),
    (0x0CCE9244, "Detailed File Share", "Object Access"),
    (0x0CCE9245, "Removable Storage", "Object Access"),
    (0x0CCE9246, "Central Policy Staging", "Object Access"),
    (0x0CCE9247, "User / Device Claims", "Logon/Logoff"),
    (0x0CCE9248, "Plug and Play Events", "Detailed Tracking"),
];

static TRUST_TYPES: &[(&str, &str)] = &[
    ("1", "TRUST_TYPE_DOWNLEVEL"),
    ("2", "TRUST_TYPE_UPLEVEL"),
    ("3", "TRUST_TYPE_MIT"),
    ("4", "TRUST_TYPE_DCE"),
];

static TRUST_DIRECTIONS: &[(&str, &str)] = &[
    ("0", "TRUST_DIRECTION_DISABLED"),
    ("1", "TRUST_DIRECTION_INBOUND"),
    ("2", "TRUST_DIRECTION_OUTBOUND"),
    ("3", "TRUST_DIRECTION_BIDIRECTIONAL"),
];

/// The pipeline names a `TdoAttributes` value only when it is one flag.
static TRUST_ATTRIBUTES: &[(&str, &str)] = &[
    ("0", "UNDEFINED"),
    ("1", "TRUST_ATTRIBUTE_NON_TRANSITIVE"),
    ("2", "TRUST_ATTRIBUTE_UPLEVEL_ONLY"),
    ("4", "TRUST_ATTRIBUTE_QUARANTINED_DOMAIN"),
    ("8", "TRUST_ATTRIBUTE_FOREST_TRANSITIVE"),
    ("16", "TRUST_ATTRIBUTE_CROSS_ORGANIZATION"),
    ("32", "TRUST_ATTRIBUTE_WITHIN_FOREST"),
    ("64", "TRUST_ATTRIBUTE_TREAT_AS_EXTERNAL"),
    ("128", "TRUST_ATTRIBUTE_USES_RC4_ENCRYPTION"),
    (
        "512",
        "TRUST_ATTRIBUTE_CROSS_ORGANIZATION_NO_TGT_DELEGATION",
    ),
    ("1024", "TRUST_ATTRIBUTE_PIM_TRUST"),
];

/// A number as Java's `Long.decode` reads it: `0x…` hex, else decimal.
pub(super) fn decode_number(s: &str) -> Option<u64> {
    let s = s.trim();
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => s.parse().ok(),
    }
}

fn flags(table: &'static [(u64, &'static str)], raw: &str) -> Option<Vec<&'static str>> {
    let bits = decode_number(raw)?;
    let names: Vec<&str> = table
        .iter()
        .filter(|(flag, _)| bits & flag == *flag)
        .map(|(_, name)| *name)
        .collect();
    (!names.is_empty()).then_some(names)
}

/// `NewUacValue` → the names of its account control flags.
pub(super) fn user_account_flags(raw: &str) -> Option<Vec<&'static str>> {
    flags(USER_ACCOUNT, raw)
}

/// `TicketOptions` → the names of its flags.
pub(super) fn ticket_options(raw: &str) -> Option<Vec<&'static str>> {
    flags(TICKET_OPTIONS, raw)
}

pub(super) fn encryption_type(raw: &str) -> Option<&'static str> {
    ENCRYPTION_TYPES
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(raw.trim()))
        .map(|(_, v)| *v)
}

pub(super) fn kdc_status(raw: &str) -> Option<&'static str> {
    let code = u32::try_from(decode_number(raw)?).ok()?;
    KDC_STATUS
        .binary_search_by_key(&code, |s| s.0)
        .ok()
        .map(|i| KDC_STATUS[i].1)
}

/// `SubcategoryGuid` (`{0CCE9215-69AE-11D9-BED3-505054503030}`, any case)
/// → (subcategory, category).
pub(super) fn audit_subcategory(guid: &str) -> Option<(&'static str, &'static str)> {
    let guid = guid.trim_matches(|c| c == '{' || c == '}');
    let (head, tail) = guid.split_once('-')?;
    if !tail.eq_ignore_ascii_case("69AE-11D9-BED3-505054503030") {
        return None;
    }
    let head = u32::from_str_radix(head, 16).ok()?;
    AUDIT_SUBCATEGORIES
        .binary_search_by_key(&head, |s| s.0)
        .ok()
        .map(|i| (AUDIT_SUBCATEGORIES[i].1, AUDIT_SUBCATEGORIES[i].2))
}

fn lookup(table: &'static [(&str, &'static str)], raw: &str) -> Option<&'static str> {
    table.iter().find(|(k, _)| *k == raw).map(|(_, v)| *v)
}

pub(super) fn trust_type(raw: &str) -> Option<&'static str> {
    lookup(TRUST_TYPES, raw)
}

pub(super) fn trust_direction(raw: &str) -> Option<&'static str> {
    lookup(TRUST_DIRECTIONS, raw)
}

pub(super) fn trust_attribute(raw: &str) -> Option<&'static str> {
    lookup(TRUST_ATTRIBUTES, raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_sorted_for_binary_search() {
        assert!(KDC_STATUS.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(AUDIT_SUBCATEGORIES.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn codes_decode() {
        assert_eq!(
            user_account_flags("0x210"),
            Some(vec!["USER_NORMAL_ACCOUNT", "USER_DONT_EXPIRE_PASSWORD"])
        );
        assert_eq!(
            user_account_flags("0x10010"),
            Some(vec!["USER_NORMAL_ACCOUNT", "USER_DONT_REQUIRE_PREAUTH"])
        );
        assert_eq!(user_account_flags("0x0"), None);
        assert_eq!(user_account_flags("garbage"), None);
        assert_eq!(
            ticket_options("0x40810010"),
            Some(vec![
                "Forwardable",
                "Renewable",
                "Name-canonicalize",
                "Renewable-ok"
            ])
        );
        assert_eq!(encryption_type("0x17"), Some("RC4-HMAC"));
        assert_eq!(encryption_type("0xFFFFFFFF"), Some("FAIL"));
        assert_eq!(kdc_status("0x0"), Some("KDC_ERR_NONE"));
        assert_eq!(kdc_status("0x1b"), Some("KDC_ERR_MUST_USE_USER2USER"));
        assert_eq!(kdc_status("0x2B"), None);
        assert_eq!(
            audit_subcategory("{0cce9227-69ae-11d9-bed3-505054503030}"),
            Some(("Other Object Access Events", "Object Access"))
        );
        assert_eq!(audit_subcategory("{0CCE9227-0000}"), None);
        assert_eq!(trust_attribute("1"), Some("TRUST_ATTRIBUTE_NON_TRANSITIVE"));
        assert_eq!(trust_attribute("3"), None);
    }
}
