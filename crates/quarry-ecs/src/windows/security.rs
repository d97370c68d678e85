//! Security (`Microsoft-Windows-Security-Auditing`) → ECS, as Elastic's
//! `system.security` pipeline (`standard.yml`) maps it.
//!
//! The pipeline is a categorisation table by event id followed by scripts
//! that each copy one group of EventData fields for a fixed list of ids
//! (subject user, target user, group member, …). [`EVENTS`] is that table
//! and each script is one helper below, with its id list beside it, so a
//! difference from the pipeline can be found by name.

mod codes;
mod messages;
mod scheduled_task;
mod sddl;

use super::{
    AccountFields, Event, PARENT, PROCESS, USER, USER_EFFECTIVE, USER_TARGET, Value, WinRecord,
    basename, set_array, set_image, set_ip, set_pid,
};
use messages::{ACCESS_MASK_FLAGS, LOGON_STATUS, MESSAGES};

/// Event id → event.category, event.type, event.action, from the
/// pipeline's "Set ECS categorization fields" table (sorted by id), with
/// the ids newer releases added (4627, 4658–4664, 4691–4705, 4793, 4797,
/// the certificate services' 48xx, 5136–5141, 5379) as their expected
/// outputs show them: the `standard.yml` beside them is older.
static EVENTS: &[(u32, &[&str], &[&str], &str)] = &[
    (1100, &["process"], &["end"], "logging-service-shutdown"),
    (1102, &["iam"], &["admin", "change"], "audit-log-cleared"),
    (1104, &["iam"], &["admin"], "logging-full"),
    (1105, &["iam"], &["admin"], "auditlog-archieved"),
    (1108, &["iam"], &["admin"], "logging-processing-error"),
    (
        4610,
        &["configuration"],
        &["access"],
        "authentication-package-loaded",
    ),
    (
        4611,
        &["configuration"],
        &["change"],
        "trusted-logon-process-registered",
    ),
    (
        4614,
        &["configuration"],
        &["access"],
        "notification-package-loaded",
    ),
    (4616, &["configuration"], &["change"], "system-time-changed"),
    (
        4622,
        &["configuration"],
        &["access"],
        "security-package-loaded",
    ),
    (4624, &["authentication"], &["start"], "logged-in"),
    (4625, &["authentication"], &["start"], "logon-failed"),
    (4627, &["iam"], &["info"], "group-membership-info"),
    (4634, &["authentication"], &["end"], "logged-out"),
    (4647, &["authentication"], &["end"], "logged-out"),
    (4648, &["authentication"], &["start"], "logged-in-explicit"),
    (
        4657,
        &["registry", "configuration"],
        &["change"],
        "registry-value-modified",
    ),
    (
        4658,
        &["iam", "configuration"],
        &["change"],
        "handle-closed-object",
    ),
    (
        4659,
        &["iam", "configuration"],
        &["change"],
        "object-was-requested-with-intent-to-delete",
    ),
    (4660, &["file", "registry"], &["deletion"], "object-deleted"),
    (
        4662,
        &["iam", "configuration"],
        &["admin", "change"],
        "object-operation-performed",
    ),
    (4664, &["file"], &["creation"], "create-hard-link"),
    (
        4670,
        &["iam", "configuration"],
        &["admin", "change"],
        "permissions-changed",
    ),
    (4672, &["iam"], &["admin"], "logged-in-special"),
    (4673, &["iam"], &["admin"], "privileged-service-called"),
    (4674, &["iam"], &["admin"], "privileged-operation"),
    (4688, &["process"], &["start"], "created-process"),
    (4689, &["process"], &["end"], "exited-process"),
    (
        4691,
        &["process"],
        &["access"],
        "indirect-object-access-requested",
    ),
    (
        4692,
        &["configuration"],
        &["access"],
        "dpapi-master-key-backup-attempted",
    ),
    (
        4695,
        &["configuration"],
        &["access"],
        "auditable-data-unprotection-attempted",
    ),
    (
        4697,
        &["iam", "configuration"],
        &["admin", "change"],
        "service-installed",
    ),
    (
        4698,
        &["iam", "configuration"],
        &["creation", "admin"],
        "scheduled-task-created",
    ),
    (
        4699,
        &["iam", "configuration"],
        &["deletion", "admin"],
        "scheduled-task-deleted",
    ),
    (
        4700,
        &["iam", "configuration"],
        &["change", "admin"],
        "scheduled-task-enabled",
    ),
    (
        4701,
        &["iam", "configuration"],
        &["change", "admin"],
        "scheduled-task-disabled",
    ),
    (
        4702,
        &["iam", "configuration"],
        &["change", "admin"],
        "scheduled-task-updated",
    ),
    (4705, &["iam"], &["change", "user"], "user-right-removed"),
    (
        4706,
        &["configuration"],
        &["creation"],
        "domain-trust-added",
    ),
    (
        4707,
        &["configuration"],
        &["deletion"],
        "domain-trust-removed",
    ),
    (
        4713,
        &["configuration"],
        &["change"],
        "kerberos-policy-changed",
    ),
    (
        4714,
        &["configuration"],
        &["change"],
        "encrypted-data-recovery-policy-changed",
    ),
    (
        4715,
        &["configuration"],
        &["change"],
        "object-audit-policy-changed",
    ),
    (
        4716,
        &["configuration"],
        &["change"],
        "trusted-domain-information-changed",
    ),
    (
        4717,
        &["iam", "configuration"],
        &["admin", "change"],
        "system-security-access-granted",
    ),
    (
        4718,
        &["iam", "configuration"],
        &["admin", "deletion"],
        "system-security-access-removed",
    ),
    (
        4719,
        &["iam", "configuration"],
        &["admin", "change"],
        "changed-audit-config",
    ),
    (4720, &["iam"], &["user", "creation"], "added-user-account"),
    (4722, &["iam"], &["user", "change"], "enabled-user-account"),
    (4723, &["iam"], &["user", "change"], "changed-password"),
    (4724, &["iam"], &["user", "change"], "reset-password"),
    (
        4725,
        &["iam"],
        &["user", "deletion"],
        "disabled-user-account",
    ),
    (
        4726,
        &["iam"],
        &["user", "deletion"],
        "deleted-user-account",
    ),
    (
        4727,
        &["iam"],
        &["group", "creation"],
        "added-group-account",
    ),
    (
        4728,
        &["iam"],
        &["group", "change"],
        "added-member-to-group",
    ),
    (
        4729,
        &["iam"],
        &["group", "change"],
        "removed-member-from-group",
    ),
    (
        4730,
        &["iam"],
        &["group", "deletion"],
        "deleted-group-account",
    ),
    (
        4731,
        &["iam"],
        &["group", "creation"],
        "added-group-account",
    ),
    (
        4732,
        &["iam"],
        &["group", "change"],
        "added-member-to-group",
    ),
    (
        4733,
        &["iam"],
        &["group", "change"],
        "removed-member-from-group",
    ),
    (
        4734,
        &["iam"],
        &["group", "deletion"],
        "deleted-group-account",
    ),
    (
        4735,
        &["iam"],
        &["group", "change"],
        "modified-group-account",
    ),
    (
        4737,
        &["iam"],
        &["group", "change"],
        "modified-group-account",
    ),
    (4738, &["iam"], &["user", "change"], "modified-user-account"),
    (
        4739,
        &["configuration"],
        &["change"],
        "domain-policy-changed",
    ),
    (
        4740,
        &["iam"],
        &["user", "change"],
        "locked-out-user-account",
    ),
    (
        4741,
        &["iam"],
        &["creation", "admin"],
        "added-computer-account",
    ),
    (
        4742,
        &["iam"],
        &["change", "admin"],
        "changed-computer-account",
    ),
    (
        4743,
        &["iam"],
        &["deletion", "admin"],
        "deleted-computer-account",
    ),
    (
        4744,
        &["iam"],
        &["group", "creation"],
        "added-distribution-group-account",
    ),
    (
        4745,
        &["iam"],
        &["group", "change"],
        "changed-distribution-group-account",
    ),
    (
        4746,
        &["iam"],
        &["group", "change"],
        "added-member-to-distribution-group",
    ),
    (
        4747,
        &["iam"],
        &["group", "change"],
        "removed-member-from-distribution-group",
    ),
    (
        4748,
        &["iam"],
        &["group", "deletion"],
        "deleted-distribution-group-account",
    ),
    (
        4749,
        &["iam"],
        &["group", "creation"],
        "added-distribution-group-account",
    ),
    (
        4750,
        &["iam"],
        &["group", "change"],
        "changed-distribution-group-account",
    ),
    (
        4751,
        &["iam"],
        &["group", "change"],
        "added-member-to-distribution-group",
    ),
    (
        4752,
        &["iam"],
        &["group", "change"],
        "removed-member-from-distribution-group",
    ),
    (
        4753,
        &["iam"],
        &["group", "deletion"],
        "deleted-distribution-group-account",
    ),
    (
        4754,
        &["iam"],
        &["group", "creation"],
        "added-group-account",
    ),
    (
        4755,
        &["iam"],
        &["group", "change"],
        "modified-group-account",
    ),
    (
        4756,
        &["iam"],
        &["group", "change"],
        "added-member-to-group",
    ),
    (
        4757,
        &["iam"],
        &["group", "change"],
        "removed-member-from-group",
    ),
    (
        4758,
        &["iam"],
        &["group", "deletion"],
        "deleted-group-account",
    ),
    (
        4759,
        &["iam"],
        &["group", "creation"],
        "added-distribution-group-account",
    ),
    (
        4760,
        &["iam"],
        &["group", "change"],
        "changed-distribution-group-account",
    ),
    (
        4761,
        &["iam"],
        &["group", "change"],
        "added-member-to-distribution-group",
    ),
    (
        4762,
        &["iam"],
        &["group", "change"],
        "removed-member-from-distribution-group",
    ),
    (
        4763,
        &["iam"],
        &["group", "deletion"],
        "deleted-distribution-group-account",
    ),
    (
        4764,
        &["iam"],
        &["group", "change"],
        "type-changed-group-account",
    ),
    (4767, &["iam"], &["user", "change"], "unlocked-user-account"),
    (
        4768,
        &["authentication"],
        &["start"],
        "kerberos-authentication-ticket-requested",
    ),
    (
        4769,
        &["authentication"],
        &["start"],
        "kerberos-service-ticket-requested",
    ),
    (
        4770,
        &["authentication"],
        &["start"],
        "kerberos-service-ticket-renewed",
    ),
    (
        4771,
        &["authentication"],
        &["start"],
        "kerberos-preauth-failed",
    ),
    (
        4776,
        &["authentication"],
        &["start"],
        "credential-validated",
    ),
    (
        4778,
        &["authentication", "session"],
        &["start"],
        "session-reconnected",
    ),
    (
        4779,
        &["authentication", "session"],
        &["end"],
        "session-disconnected",
    ),
    (4781, &["iam"], &["user", "change"], "renamed-user-account"),
    (
        4793,
        &["api"],
        &["info"],
        "password-policy-checking-api-called",
    ),
    (
        4797,
        &["iam"],
        &["user", "info"],
        "query-existence-of-blank-password",
    ),
    (
        4798,
        &["iam"],
        &["user", "info"],
        "group-membership-enumerated",
    ),
    (4799, &["iam"], &["group", "info"], "user-member-enumerated"),
    (
        4817,
        &["iam", "configuration"],
        &["admin", "change"],
        "object-audit-changed",
    ),
    (
        4868,
        &["configuration"],
        &["change"],
        "certificate-manager-denied-pending-certificate-request",
    ),
    (
        4869,
        &["configuration"],
        &["info"],
        "certificate-services-received-resubmitted-certificate-request",
    ),
    (4870, &["iam"], &["change"], "certificate-revoked"),
    (
        4871,
        &["iam"],
        &["info"],
        "certificate-revocation-list-publication-requested",
    ),
    (
        4873,
        &["iam"],
        &["change"],
        "certificate-request-extension-changed",
    ),
    (
        4874,
        &["iam"],
        &["change"],
        "certificate-request-attributes-changed",
    ),
    (
        4875,
        &["configuration"],
        &["info"],
        "certificate-services-shutdown-requested",
    ),
    (
        4876,
        &["session"],
        &["start"],
        "certificate-services-backup-started",
    ),
    (
        4891,
        &["configuration"],
        &["change"],
        "certificate-services-configuration-entry-changed",
    ),
    (
        4892,
        &["configuration"],
        &["change"],
        "certificate-services-property-changed",
    ),
    (
        4902,
        &["iam", "configuration"],
        &["admin", "creation"],
        "user-audit-policy-created",
    ),
    (
        4904,
        &["iam", "configuration"],
        &["admin", "change"],
        "security-event-source-added",
    ),
    (
        4905,
        &["iam", "configuration"],
        &["admin", "deletion"],
        "security-event-source-removed",
    ),
    (
        4906,
        &["iam", "configuration"],
        &["admin", "change"],
        "crash-on-audit-changed",
    ),
    (
        4907,
        &["iam", "configuration"],
        &["admin", "change"],
        "audit-setting-changed",
    ),
    (
        4908,
        &["iam", "configuration"],
        &["admin", "change"],
        "special-group-table-changed",
    ),
    (
        4912,
        &["iam", "configuration"],
        &["admin", "change"],
        "per-user-audit-policy-changed",
    ),
    (
        4950,
        &["configuration"],
        &["change"],
        "windows-firewall-setting-changed",
    ),
    (
        4954,
        &["configuration"],
        &["change"],
        "windows-firewall-group-policy-changed",
    ),
    (4964, &["iam"], &["admin", "group"], "logged-in-special"),
    (
        5024,
        &["process"],
        &["start"],
        "windows-firewall-service-started",
    ),
    (
        5025,
        &["process"],
        &["end"],
        "windows-firewall-service-stopped",
    ),
    (
        5033,
        &["driver"],
        &["start"],
        "windows-firewall-driver-started",
    ),
    (
        5034,
        &["driver"],
        &["end"],
        "windows-firewall-driver-stopped",
    ),
    (5037, &["driver"], &["end"], "windows-firewall-driver-error"),
    (
        5136,
        &["iam", "configuration"],
        &["admin", "change"],
        "directory-service-object-modified",
    ),
    (
        5137,
        &["iam", "configuration"],
        &["admin", "creation"],
        "directory-service-object-created",
    ),
    (
        5140,
        &["network", "file"],
        &["info", "access"],
        "network-share-object-accessed",
    ),
    (
        5141,
        &["iam", "configuration"],
        &["admin", "deletion"],
        "directory-service-object-deleted",
    ),
    (
        5145,
        &["network", "file"],
        &["info", "access"],
        "network-share-object-access-checked",
    ),
    (
        5379,
        &["iam"],
        &["user", "info"],
        "credential-manager-credentials-were-read",
    ),
];

/// `LogonType` → `winlog.logon.type`.
const LOGON_TYPES: &[(&str, &str)] = &[
    ("2", "Interactive"),
    ("3", "Network"),
    ("4", "Batch"),
    ("5", "Service"),
    ("7", "Unlock"),
    ("8", "NetworkCleartext"),
    ("9", "NewCredentials"),
    ("10", "RemoteInteractive"),
    ("11", "CachedInteractive"),
];

/// `ServiceType` → `service.type` (4697).
const SERVICE_TYPES: &[(&str, &str)] = &[
    ("0x1", "Kernel Driver"),
    ("0x2", "File System Driver"),
    ("0x8", "Recognizer Driver"),
    ("0x10", "Win32 Own Process"),
    ("0x20", "Win32 Share Process"),
    ("0x110", "Interactive Own Process"),
    ("0x120", "Interactive Share Process"),
];

/// Ids whose target user is the user of the event ("Copy Target User").
const TARGET_IS_USER: &[u32] = &[
    4624, 4625, 4634, 4647, 4648, 4768, 4769, 4770, 4771, 4776, 4964,
];
/// Ids whose subject is the user ("Copy Subject User from Event Data").
const SUBJECT_IS_USER: &[u32] = &[
    1102, 4627, 4648, 4657, 4658, 4659, 4660, 4662, 4664, 4670, 4672, 4673, 4674, 4688, 4689, 4691,
    4692, 4695, 4697, 4698, 4699, 4700, 4701, 4702, 4705, 4706, 4707, 4713, 4716, 4717, 4718, 4719,
    4720, 4722, 4723, 4724, 4725, 4726, 4727, 4728, 4729, 4730, 4731, 4732, 4733, 4734, 4735, 4737,
    4738, 4739, 4740, 4741, 4742, 4743, 4744, 4745, 4746, 4747, 4748, 4749, 4750, 4751, 4752, 4753,
    4754, 4755, 4756, 4757, 4758, 4759, 4760, 4761, 4762, 4763, 4764, 4767, 4781, 4793, 4797, 4798,
    4799, 4817, 4868, 4869, 4870, 4871, 4873, 4874, 4875, 4876, 4891, 4892, 4904, 4905, 4907, 4912,
    5136, 5137, 5140, 5141, 5145, 5379,
];
/// Ids whose target account is `user.target` ("Copy Target User to Target").
const TARGET_IS_TARGET: &[u32] = &[
    4627, 4670, 4720, 4722, 4723, 4724, 4725, 4726, 4738, 4740, 4767, 4797, 4798, 4817, 4907,
];
/// Ids whose target account is `user.effective`.
const TARGET_IS_EFFECTIVE: &[u32] = &[4627, 4648, 4688];
/// Group membership and group management ids ("Copy MemberName to User and
/// User to Group").
const GROUP_EVENTS: &[u32] = &[
    4727, 4728, 4729, 4730, 4731, 4732, 4733, 4734, 4735, 4737, 4744, 4745, 4746, 4747, 4748, 4749,
    4750, 4751, 4752, 4753, 4754, 4755, 4756, 4757, 4758, 4759, 4760, 4761, 4762, 4763, 4764, 4799,
];
/// Ids whose process, source address and workstation are renamed to ECS
/// ("Rename Common Auth Fields"; 4658–4691 as newer releases add them).
const COMMON_AUTH: &[u32] = &[
    1100, 1102, 1104, 1105, 1108, 4624, 4625, 4648, 4658, 4659, 4660, 4670, 4673, 4674, 4689, 4691,
    4697, 4719, 4720, 4722, 4723, 4724, 4725, 4726, 4727, 4728, 4729, 4730, 4731, 4732, 4733, 4734,
    4735, 4737, 4738, 4740, 4741, 4742, 4743, 4744, 4745, 4746, 4747, 4748, 4749, 4750, 4751, 4752,
    4753, 4754, 4755, 4756, 4757, 4758, 4759, 4760, 4761, 4762, 4763, 4764, 4767, 4768, 4769, 4770,
    4771, 4798, 4799, 4817, 4904, 4905, 4907, 4912, 5140, 5145,
];
/// Ids whose TargetUserName is also a related user.
const TARGET_RELATED: &[u32] = &[
    4688, 4720, 4722, 4723, 4724, 4725, 4726, 4738, 4740, 4767, 4798,
];

/// Maps a Security record; false for an event id the pipeline does not
/// categorise (kept generic, as Elastic keeps it).
pub(super) fn map(rec: &WinRecord, ev: &mut Event) -> bool {
    let id = rec.event_id;
    // the pipeline decodes these for every Security event, categorised or
    // not (4656 handle requests stay generic but their AccessMask is read)
    decode_messages(rec, ev);
    // (the logon session too: an uncategorised 4663 keeps its logon id)
    if let Some(logon) = rec.get("SubjectLogonId") {
        ev.set_id(quarry_event::fid!("winlog.logon.id"), logon);
    }
    let Ok(i) = EVENTS.binary_search_by_key(&id, |e| e.0) else {
        return false;
    };
    let (_, category, ty, action) = EVENTS[i];
    set_array(ev, "event.category", category);
    set_array(ev, "event.type", ty);
    ev.set_id(quarry_event::fid!("event.action"), action);
    if let Some(outcome) = rec.keywords.as_deref().and_then(outcome) {
        ev.set_id(quarry_event::fid!("event.outcome"), outcome);
    }
    let mut related = Related::default();
    if matches!(id, 4670 | 4817 | 4907 | 4908) {
        // the pipeline decodes the descriptors before it names the
        // subject: their grantees come first in related.user
        let grantees = sddl::decode(ev, rec.get("OldSd"), rec.get("NewSd"), rec.get("SidList"));
        for g in &grantees {
            related.push(g);
        }
    }

    if TARGET_IS_USER.contains(&id) {
        let sid = rec.get("TargetUserSid").or_else(|| rec.get("TargetSid"));
        set_account(
            ev,
            &USER,
            sid,
            rec.get("TargetUserName"),
            rec.get("TargetDomainName"),
            &mut related,
        );
    }
    if GROUP_EVENTS.contains(&id) {
        set_group(ev, rec, &mut related);
    }
    if matches!(id, 4741..=4743) {
        ev.set("winlog.computerObject.id", rec.get("TargetSid"));
        ev.set("winlog.computerObject.name", rec.get("TargetUserName"));
        ev.set("winlog.computerObject.domain", rec.get("TargetDomainName"));
    }
    if matches!(id, 4634 | 4647 | 4964) {
        // (the subject's session, set above, where it has one)
        if rec.get("SubjectLogonId").is_none() {
            ev.set_id(
                quarry_event::fid!("winlog.logon.id"),
                rec.get("TargetLogonId"),
            );
        }
    }
    if SUBJECT_IS_USER.contains(&id) {
        ev.set_id(quarry_event::fid!("user.id"), rec.get("SubjectUserSid"));
        ev.set_id(
            quarry_event::fid!("user.domain"),
            rec.get("SubjectDomainName"),
        );
        if let Some(name) = rec.get("SubjectUserName") {
            ev.set_id(quarry_event::fid!("user.name"), name);
            related.push(name);
        }
    }
    if TARGET_IS_TARGET.contains(&id) {
        set_account(
            ev,
            &USER_TARGET,
            rec.get("TargetSid"),
            rec.get("TargetUserName"),
            rec.get("TargetDomainName"),
            &mut related,
        );
    }
    if TARGET_IS_EFFECTIVE.contains(&id) {
        set_account(
            ev,
            &USER_EFFECTIVE,
            rec.get("TargetUserSid"),
            rec.get("TargetUserName"),
            rec.get("TargetDomainName"),
            &mut related,
        );
    }
    if id == 4793 {
        // a password policy check: the account checked
        if let Some(name) = rec.get("TargetUserName") {
            ev.set_id(quarry_event::fid!("user.target.name"), name);
            ev.set_id(quarry_event::fid!("user.effective.name"), name);
            related.push(name);
        }
    }
    if matches!(id, 4778 | 4779) {
        // session reconnected / disconnected: the account and the client
        ev.set_id(quarry_event::fid!("user.domain"), rec.get("AccountDomain"));
        if let Some(name) = rec.get("AccountName") {
            ev.set_id(quarry_event::fid!("user.name"), name);
            related.push(name);
        }
        set_source_ip(ev, rec.get("ClientAddress"));
        ev.set_id(quarry_event::fid!("source.domain"), rec.get("ClientName"));
        ev.set_id(quarry_event::fid!("winlog.logon.id"), rec.get("LogonID"));
    }
    if COMMON_AUTH.contains(&id) {
        set_pid(ev, "process.pid", rec.get("ProcessId"));
        set_image(ev, &PROCESS, rec.get("ProcessName"));
        set_source_ip(ev, rec.get("IpAddress"));
        set_pid(ev, "source.port", rec.get("IpPort"));
        ev.set_id(
            quarry_event::fid!("source.domain"),
            rec.get("WorkstationName"),
        );
        if let Some(client) = rec.get("ClientAddress") {
            set_ip(ev, "related.ip", Some(client));
        }
    }
    if id == 4688 {
        set_pid(ev, "process.pid", rec.get("NewProcessId"));
        set_image(ev, &PROCESS, rec.get("NewProcessName"));
        set_image(ev, &PARENT, rec.get("ParentProcessName"));
        set_pid(ev, "process.parent.pid", rec.get("ProcessId"));
        if let Some(cmd) = rec.get("CommandLine") {
            ev.set_id(quarry_event::fid!("process.command_line"), cmd);
            ev.set_id(
                quarry_event::fid!("process.args"),
                split_keeping_quotes(cmd),
            );
        }
    }
    if matches!(id, 4624 | 4648) {
        related.push_opt(rec.get("SubjectUserName"));
    }
    if TARGET_RELATED.contains(&id) {
        related.push_opt(rec.get("TargetUserName"));
    }
    if let Some(old) = rec.get("OldTargetUserName") {
        ev.set_id(quarry_event::fid!("user.target.name"), old);
    }
    ev.set_id(
        quarry_event::fid!("user.changes.name"),
        rec.get("NewTargetUserName"),
    );
    related.push_opt(rec.get("NewTargetUserName"));
    related.push_opt(rec.get("OldTargetUserName"));
    if let Some(t) = rec.get("LogonType") {
        // a LogonType that is not one of the known numbers names nothing;
        // the raw value stays in winlog.event_data
        // a number the pipeline has no name for (0, the system's own
        // logon at boot; 12, 13) names nothing, as in Elastic; only a
        // value that is no number is a bad shape
        match lookup(LOGON_TYPES, t) {
            Some(name) => ev.set_id(quarry_event::fid!("winlog.logon.type"), name),
            None if t.trim().parse::<u32>().is_err() => {
                crate::mark_bad_shape(ev, "winlog.logon.type")
            }
            None => {}
        }
    }
    if matches!(id, 4672 | 4673 | 4674 | 4704 | 4705 | 4741 | 4742 | 4743)
        && let Some(list) = rec.get("PrivilegeList")
    {
        // one privilege per value, as the pipeline splits it, so that
        // `PrivilegeList: "SeDebugPrivilege"` matches
        let privileges: Vec<&str> = list.split_whitespace().collect();
        ev.set("winlog.event_data.PrivilegeList", privileges);
    }
    ev.set_id(quarry_event::fid!("service.name"), rec.get("ServiceName"));
    ev.set(
        "service.type",
        rec.get("ServiceType")
            .and_then(|t| lookup(SERVICE_TYPES, t)),
    );
    if matches!(id, 4698..=4702) {
        ev.set_id(
            quarry_event::fid!("winlog.scheduled_task.name"),
            rec.get("TaskName"),
        );
        let content = if id == 4702 {
            rec.get("TaskContentNew")
        } else {
            rec.get("TaskContent")
        };
        if let Some(xml) = content
            && !scheduled_task::set(ev, xml)
        {
            crate::mark_bad_shape(ev, "winlog.scheduled_task");
        }
    }
    if matches!(id, 5140 | 5145) {
        set_share_file(ev, rec);
    }
    if id == 4627 {
        // group membership of a logon: the account logged on is the user
        // when no subject names one, and the group fields name it too, as
        // Elastic's expected documents show
        if rec.get("SubjectUserName").is_none() {
            ev.set_id(quarry_event::fid!("user.name"), rec.get("TargetUserName"));
            ev.set_id(
                quarry_event::fid!("user.domain"),
                rec.get("TargetDomainName"),
            );
        }
        ev.set_id(quarry_event::fid!("group.id"), rec.get("TargetUserSid"));
        ev.set_id(quarry_event::fid!("group.name"), rec.get("TargetUserName"));
        ev.set_id(
            quarry_event::fid!("group.domain"),
            rec.get("TargetDomainName"),
        );
    }
    if matches!(id, 4704 | 4705) {
        // user rights assigned or removed: the account they concern
        ev.set_id(quarry_event::fid!("user.target.id"), rec.get("TargetSid"));
    }
    if id == 5136 {
        // a directory object modified: what was done, and the user object's
        // name (its first RDN, `\,` unescaped)
        // (`%%14674` as rendered: "Value Added")
        let op = rec.get("OperationType");
        ev.set(
            "event.reason",
            op.and_then(message).or(op.filter(|o| !o.starts_with("%%"))),
        );
        if rec.get("ObjectClass") == Some("user")
            && let Some(cn) = rec.get("ObjectDN").and_then(|dn| dn_parts(dn).next())
            && let Some(name) = cn.strip_prefix("CN=").or_else(|| cn.strip_prefix("cn="))
        {
            let name = name.replace("\\,", ",");
            related.push(&name);
            ev.set_id(quarry_event::fid!("user.target.name"), name);
        }
    }
    if (4868..=4899).contains(&id) {
        // AD CS: the request a certificate-services event is about
        if let Some(n) = rec
            .get("RequestId")
            .and_then(|r| r.trim().parse::<i64>().ok())
        {
            ev.set_id(quarry_event::fid!("winlog.adcs.request.id"), n);
        }
        if let Some(ext) = rec.get("ExtensionName") {
            ev.set_id(
                quarry_event::fid!("winlog.adcs.request.extension.name"),
                ext,
            );
            if !ext.is_empty()
                && ext
                    .split('.')
                    .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
            {
                ev.set_id(quarry_event::fid!("winlog.adcs.request.extension.oid"), ext);
            }
        }
    }
    // the object of a delete request, the file of a hard link
    if id == 4659 && rec.get("ObjectType") == Some("File") {
        ev.set_id(quarry_event::fid!("file.path"), rec.get("ObjectName"));
    }
    if id == 4664 {
        ev.set_id(quarry_event::fid!("file.path"), rec.get("FileName"));
    }
    if let Some(ip) = ev.get("source.ip").cloned() {
        related.push_ip(ip);
    }
    related.set(ev);
    true
}

/// The scripts that decode codes for every Security event: "Decode
/// message table" (`%%n` insertion strings and access masks to their
/// names, beside the raw values; 4625/4776/4793 status codes to
/// `winlog.logon.failure.*`), the account control, Kerberos, audit
/// subcategory and trust tables ([`codes`]).
fn decode_messages(rec: &WinRecord, ev: &mut Event) {
    if let Some(reason) = rec.get("FailureReason").and_then(message) {
        ev.set_id(quarry_event::fid!("winlog.logon.failure.reason"), reason);
    }
    if let Some(raw) = rec.get("AuditPolicyChanges") {
        let names: Vec<&str> = raw.split(',').filter_map(message).collect();
        if !names.is_empty() {
            ev.set("winlog.event_data.AuditPolicyChangesDescription", names);
        }
    }
    if let Some(raw) = rec.get("AccessList") {
        // Windows separates the entries by new lines and tabs when it
        // renders them, by spaces in winlogbeat's documents. The newest
        // pipeline also rewrites AccessList as a list of bare codes
        // (`4417`); quarry keeps the raw text, which Elastic's rules
        // compare (`AccessList:"*%%4417*"`) and the older pipeline kept.
        let names: Vec<&str> = raw.split_whitespace().filter_map(message).collect();
        if !names.is_empty() {
            ev.set("winlog.event_data.AccessListDescription", names);
        }
    }
    if let Some(mask) = rec.get("AccessMask") {
        // every value is one entry (a `%%n` named by its message), and the
        // description names each bit of all of them together
        let mut bits = 0u32;
        let mut entries: Vec<&str> = Vec::new();
        for token in mask.split_whitespace() {
            entries.push(
                message(token)
                    .filter(|_| token.starts_with("%%"))
                    .unwrap_or(token),
            );
            if let Some(b) = parse_mask(token.trim_start_matches("%%")) {
                bits |= b;
            }
        }
        if !entries.is_empty() {
            ev.set("winlog.event_data.AccessMask", entries);
        }
        let names: Vec<&str> = (0..32)
            .map(|b| 1u32 << b)
            .filter(|flag| bits & flag != 0)
            .filter_map(|flag| {
                ACCESS_MASK_FLAGS
                    .iter()
                    .find(|(f, _)| *f == flag)
                    .map(|(_, name)| *name)
            })
            .collect();
        if !names.is_empty() {
            ev.set("winlog.event_data.AccessMaskDescription", names);
        }
    }
    if let Some(flags) = rec.get("NewUacValue").and_then(codes::user_account_flags) {
        ev.set("winlog.event_data.NewUACList", flags);
        if let Some(uac) = rec.get("UserAccountControl") {
            // `%%2080 %%2082` as codes, a rendered list as its lines
            let items: Vec<&str> = uac
                .split("%%")
                .flat_map(|part| part.split(['\n', '\r']))
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .collect();
            if !items.is_empty() {
                ev.set("winlog.event_data.UserAccountControl", items);
            }
        }
    }
    if let Some(options) = rec.get("TicketOptions").and_then(codes::ticket_options) {
        ev.set("winlog.event_data.TicketOptionsDescription", options);
    }
    if let Some(t) = rec
        .get("TicketEncryptionType")
        .and_then(codes::encryption_type)
    {
        ev.set("winlog.event_data.TicketEncryptionTypeDescription", t);
    }
    if matches!(rec.event_id, 4768..=4771 | 4793)
        && let Some(s) = rec.get("Status").and_then(codes::kdc_status)
    {
        ev.set("winlog.event_data.StatusDescription", s);
    }
    if let Some((sub, category)) = rec
        .get("SubcategoryGuid")
        .and_then(codes::audit_subcategory)
    {
        ev.set("winlog.event_data.Category", category);
        ev.set("winlog.event_data.SubCategory", sub);
    }
    ev.set(
        "winlog.trustType",
        rec.get("TdoType").and_then(codes::trust_type),
    );
    ev.set(
        "winlog.trustDirection",
        rec.get("TdoDirection").and_then(codes::trust_direction),
    );
    ev.set(
        "winlog.trustAttribute",
        rec.get("TdoAttributes").and_then(codes::trust_attribute),
    );
    if matches!(rec.event_id, 4625 | 4776 | 4793) {
        let status = |code: &str| {
            LOGON_STATUS
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(code))
                .map(|(_, v)| *v)
        };
        if let Some(s) = rec.get("Status").and_then(status) {
            ev.set_id(quarry_event::fid!("winlog.logon.failure.status"), s);
        }
        if let Some(sub) = rec.get("SubStatus").and_then(status) {
            ev.set_id(quarry_event::fid!("winlog.logon.failure.sub_status"), sub);
        }
    }
}

/// `%%1538` (or `1538`) → its text.
fn message(token: &str) -> Option<&'static str> {
    let code: u32 = token.trim().trim_start_matches("%%").parse().ok()?;
    MESSAGES
        .binary_search_by_key(&code, |m| m.0)
        .ok()
        .map(|i| MESSAGES[i].1)
}

/// An access mask as Java's `Long.decode` reads it: `0x…` hex or decimal.
fn parse_mask(token: &str) -> Option<u32> {
    match token
        .strip_prefix("0x")
        .or_else(|| token.strip_prefix("0X"))
    {
        Some(hex) => u32::from_str_radix(hex, 16).ok(),
        None => token.parse().ok(),
    }
}

fn lookup(table: &[(&str, &'static str)], key: &str) -> Option<&'static str> {
    table.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
}

/// "Audit Success" / "Audit Failure", from winlogbeat's keyword names or
/// the raw keyword mask (0x0020… success, 0x0010… failure).
fn outcome(keywords: &str) -> Option<&'static str> {
    if keywords.contains("Audit Success") {
        return Some("success");
    }
    if keywords.contains("Audit Failure") {
        return Some("failure");
    }
    let hex = keywords.strip_prefix("0x")?;
    let mask = u64::from_str_radix(hex, 16).ok()?;
    if mask & 0x0020_0000_0000_0000 != 0 {
        Some("success")
    } else if mask & 0x0010_0000_0000_0000 != 0 {
        Some("failure")
    } else {
        None
    }
}

/// `<to>.id/name/domain` of an account; a `user@domain` name keeps its
/// user part, as the pipeline's `splitOnToken("@")`.
fn set_account(
    ev: &mut Event,
    to: &AccountFields,
    sid: Option<&str>,
    name: Option<&str>,
    domain: Option<&str>,
    related: &mut Related,
) {
    ev.set_id(to.id.id(), sid);
    if let Some(name) = name {
        let name = name.split('@').next().unwrap_or(name);
        ev.set_id(to.name.id(), name);
        related.push(name);
    }
    ev.set_id(to.domain.id(), domain);
}

/// Group management: the member (`CN=name,…,DC=domain`) is `user.target`,
/// the group is `group.*` and `user.target.group.*`.
fn set_group(ev: &mut Event, rec: &WinRecord, related: &mut Related) {
    let mut has_target = false;
    if let Some(member) = rec.get("MemberName") {
        let mut parts = dn_parts(member);
        let cn = parts.next().unwrap_or(member);
        let name = cn
            .strip_prefix("CN=")
            .or_else(|| cn.strip_prefix("cn="))
            .unwrap_or(cn);
        ev.set_id(quarry_event::fid!("user.target.name"), name);
        related.push(name);
        if let Some(dc) = parts.nth(2) {
            ev.set(
                "user.target.domain",
                dc.replace("DC=", "").replace("dc=", ""),
            );
        }
        has_target = true;
    }
    let id = rec.get("TargetSid").or_else(|| rec.get("TargetUserSid"));
    let name = rec.get("TargetUserName");
    let domain = rec.get("TargetDomainName");
    ev.set_id(quarry_event::fid!("group.id"), id);
    ev.set_id(quarry_event::fid!("group.name"), name);
    ev.set_id(quarry_event::fid!("group.domain"), domain);
    if has_target || ev.contains("user.target.name") {
        ev.set_id(quarry_event::fid!("user.target.group.id"), id);
        ev.set_id(quarry_event::fid!("user.target.group.name"), name);
        ev.set_id(quarry_event::fid!("user.target.group.domain"), domain);
    }
}

/// The file a share access names: `RelativeTargetName` under the share's
/// local path (`file.path`, `.directory`, `.name`, `.extension`) and under
/// its UNC name (`file.target_path`), as the newer pipeline joins them.
fn set_share_file(ev: &mut Event, rec: &WinRecord) {
    let Some(relative) = rec
        .get("RelativeTargetName")
        .map(|r| r.trim_start_matches('\\'))
        .filter(|r| !r.is_empty())
    else {
        return;
    };
    let name = basename(relative);
    ev.set_id(quarry_event::fid!("file.name"), name);
    if let Some((_, ext)) = name.rsplit_once('.') {
        ev.set_id(quarry_event::fid!("file.extension"), ext);
    }
    if let Some(local) = rec.get("ShareLocalPath") {
        let path = format!("{}\\{relative}", local.trim_end_matches('\\'));
        if let Some((dir, _)) = path.rsplit_once('\\') {
            ev.set_id(quarry_event::fid!("file.directory"), dir);
        }
        ev.set_id(quarry_event::fid!("file.path"), path);
    }
    if let Some(share) = rec.get("ShareName") {
        ev.set(
            "file.target_path",
            format!("{}\\{relative}", share.trim_end_matches('\\')),
        );
    }
}

/// The comma-separated parts of a distinguished name; `\,` is a comma
/// inside a part (`CN=Reyes\, Elena,OU=…`).
fn dn_parts(dn: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(dn);
    std::iter::from_fn(move || {
        let s = rest?;
        let bytes = s.as_bytes();
        let end = (0..bytes.len()).find(|&i| bytes[i] == b',' && (i == 0 || bytes[i - 1] != b'\\'));
        match end {
            Some(i) => {
                rest = Some(&s[i + 1..]);
                Some(&s[..i])
            }
            None => {
                rest = None;
                Some(s)
            }
        }
    })
}

/// `source.ip`, with an IPv4-mapped IPv6 address written as IPv4.
fn set_source_ip(ev: &mut Event, raw: Option<&str>) {
    let raw = raw.map(|r| r.strip_prefix("::ffff:").unwrap_or(r));
    set_ip(ev, "source.ip", raw);
}

/// The 4688 script's split: at white space outside double quotes, the
/// quotes kept (unlike Sysmon's `CommandLineToArgvW` split).
fn split_keeping_quotes(cmd: &str) -> Vec<&str> {
    let mut args = Vec::new();
    let mut start = 0;
    let mut quoted = false;
    for (i, c) in cmd.char_indices() {
        if c == '"' {
            quoted = !quoted;
        } else if c.is_whitespace() && !quoted {
            args.push(&cmd[start..i]);
            start = i + c.len_utf8();
        }
    }
    args.push(&cmd[start..]);
    args.retain(|a| !a.trim().is_empty());
    args
}

/// `related.user` and `related.ip` in order of first appearance, without
/// duplicates, as the pipeline's appends build them.
#[derive(Default)]
struct Related {
    users: Vec<Value>,
    ips: Vec<Value>,
}

impl Related {
    fn push(&mut self, user: &str) {
        if !self.users.iter().any(|u| u.as_str() == Some(user)) {
            self.users.push(Value::from(user));
        }
    }

    fn push_opt(&mut self, user: Option<&str>) {
        if let Some(u) = user {
            self.push(u);
        }
    }

    fn push_ip(&mut self, ip: Value) {
        if !self.ips.contains(&ip) {
            self.ips.push(ip);
        }
    }

    fn set(self, ev: &mut Event) {
        if !self.users.is_empty() {
            ev.set_id(quarry_event::fid!("related.user"), Value::Array(self.users));
        }
        // an address set before (a 4624's ClientAddress) comes first
        let mut ips = self.ips;
        match ev.remove("related.ip") {
            Some(Value::Array(before)) => drop(ips.splice(0..0, before)),
            Some(one) => ips.insert(0, one),
            None => {}
        }
        if !ips.is_empty() {
            ev.set_id(quarry_event::fid!("related.ip"), Value::Array(ips));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_sorted_for_binary_search() {
        assert!(EVENTS.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(MESSAGES.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn messages_and_masks_decode() {
        let rec = WinRecord {
            event_id: 4663,
            data: vec![
                ("AccessList".into(), "%%4417\r\n\t\t\t\t%%4418\r\n".into()),
                ("AccessMask".into(), "0x6".into()),
            ],
            ..Default::default()
        };
        let mut ev = Event::default();
        decode_messages(&rec, &mut ev);
        assert!(ev.has_value(
            "winlog.event_data.AccessListDescription",
            "WriteData (or AddFile)"
        ));
        assert!(ev.has_value("winlog.event_data.AccessMaskDescription", "Delete Child"));
        assert!(ev.has_value("winlog.event_data.AccessMaskDescription", "List Contents"));
        // not a mask: nothing decoded, nothing lost
        let bad = WinRecord {
            data: vec![("AccessMask".into(), "0xZZ".into())],
            ..rec
        };
        let mut ev = Event::default();
        decode_messages(&bad, &mut ev);
        assert!(!ev.contains("winlog.event_data.AccessMaskDescription"));
    }

    #[test]
    fn args_split_outside_quotes() {
        assert_eq!(
            split_keeping_quotes(r#""C:\a b\c.exe"  /x "y z""#),
            vec![r#""C:\a b\c.exe""#, "/x", r#""y z""#]
        );
    }

    #[test]
    fn distinguished_names_keep_escaped_commas() {
        let parts: Vec<&str> =
            dn_parts(r"CN=Reyes\, Elena (FFF),OU=Users,DC=corp,DC=local").collect();
        assert_eq!(
            parts,
            vec![r"CN=Reyes\, Elena (FFF)", "OU=Users", "DC=corp", "DC=local"]
        );
        assert_eq!(dn_parts("-").collect::<Vec<_>>(), vec!["-"]);
    }

    #[test]
    fn outcome_from_keywords() {
        assert_eq!(outcome("0x8020000000000000"), Some("success"));
        assert_eq!(outcome("0x8010000000000000"), Some("failure"));
        assert_eq!(outcome("Audit Failure"), Some("failure"));
        assert_eq!(outcome("0x8000000000000000"), None);
        assert_eq!(outcome("garbage"), None);
    }
}
