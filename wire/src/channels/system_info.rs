//! System information (TOOL-7): the CSR asks, the customer allows, and the
//! customer's native peer answers with a [`SystemReport`] on the
//! `system-info` channel (reliable, ordered, opened by the CSR).
//!
//! ```text
//! CSR                                      customer's native peer
//!  |-- request {request_id} ------------------->|   the customer is asked
//!  |<--------------- report {request_id, report} |   or refused {request_id, code}
//! ```
//!
//! Nothing is collected before the customer allows it. A report carries no
//! secrets: no environment, no user names, no MAC address unless the
//! customer agreed to include them. Every string is bounded ([`InfoText`])
//! and every list capped, so that the largest report fits one data channel
//! message; a viewer shows every string as text, never as HTML.

use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Deserializer, Serialize, Serializer, de};
use ts_rs::TS;

use super::remote_files::Capped;
use crate::text::TextError;

/// Most disks in one report.
pub const MAX_DISKS: usize = 16;
/// Most displays in one report.
pub const MAX_DISPLAYS: usize = 16;
/// Most network interfaces in one report.
pub const MAX_INTERFACES: usize = 16;
/// Most addresses per network interface.
pub const MAX_ADDRESSES: usize = 16;

channel_text!(
    /// One value of a system report (an OS name, a CPU brand, a mount point,
    /// a host name, ...): 1 to 128 characters, no control characters. Text, never HTML.
    InfoText,
    max = 128,
    |s| s.chars().all(|c| !c.is_control())
);

impl InfoText {
    /// `s` made to fit: control characters become spaces, the rest is cut at
    /// [`InfoText::MAX_CHARS`] characters, surrounding blanks are trimmed.
    /// `None` when nothing is left.
    pub fn lossy(s: &str) -> Option<Self> {
        let cleaned: String =
            s.chars().map(|c| if c.is_control() { ' ' } else { c }).take(Self::MAX_CHARS).collect();
        Self::parse(cleaned.trim()).ok()
    }
}

channel_text!(
    /// A hardware (MAC) address: six pairs of lowercase hexadecimal digits joined by `:`.
    MacAddress,
    max = 17,
    |s| s.len() == 17
        && s.bytes().enumerate().all(|(i, b)| if i % 3 == 2 { b == b':' } else { matches!(b, b'0'..=b'9' | b'a'..=b'f') })
);

/// Identifies one system information request; chosen by the CSR.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, TS)]
pub struct InfoRequestId(pub u32);

/// The processor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(optional_fields)]
pub struct CpuInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub brand: Option<InfoText>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor: Option<InfoText>,
    /// Logical processors (hardware threads).
    pub logical_cores: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub physical_cores: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frequency_mhz: Option<u64>,
}

/// Memory, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, TS)]
pub struct MemoryInfo {
    pub total_bytes: u64,
    pub available_bytes: u64,
    pub swap_total_bytes: u64,
    pub swap_free_bytes: u64,
}

/// A storage device's kind, as far as the OS tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum DiskKind {
    Hdd,
    Ssd,
    #[serde(other)]
    Unknown,
}

/// One mounted file system.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(optional_fields)]
pub struct DiskInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<InfoText>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mount_point: Option<InfoText>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_system: Option<InfoText>,
    pub kind: DiskKind,
    pub removable: bool,
    pub total_bytes: u64,
    pub available_bytes: u64,
}

/// One display (an X screen), in pixels and, when known, millimetres.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(optional_fields)]
pub struct DisplayInfo {
    pub width: u32,
    pub height: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width_mm: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height_mm: Option<u32>,
}

/// An address of a network interface with its prefix length (`/24`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct InterfaceAddress {
    pub address: IpAddr,
    pub prefix: u8,
}

/// One network interface. `mac` only when the customer agreed to include it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(optional_fields)]
pub struct InterfaceInfo {
    pub name: InfoText,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<MacAddress>,
    #[ts(as = "Vec<InterfaceAddress>")]
    pub addresses: Capped<InterfaceAddress, MAX_ADDRESSES>,
}

/// Hardware and software of the customer's computer. Absent fields were not
/// available on that system.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(optional_fields)]
pub struct SystemReport {
    /// When it was collected, Unix milliseconds (the customer's clock).
    pub collected_at: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_name: Option<InfoText>,
    /// For example `Debian GNU/Linux`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_name: Option<InfoText>,
    /// For example `12 (bookworm)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_version: Option<InfoText>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernel_version: Option<InfoText>,
    /// For example `x86_64`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub architecture: Option<InfoText>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uptime_seconds: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<CpuInfo>,
    pub memory: MemoryInfo,
    #[ts(as = "Vec<DiskInfo>")]
    pub disks: Capped<DiskInfo, MAX_DISKS>,
    #[ts(as = "Vec<DisplayInfo>")]
    pub displays: Capped<DisplayInfo, MAX_DISPLAYS>,
    #[ts(as = "Vec<InterfaceInfo>")]
    pub interfaces: Capped<InterfaceInfo, MAX_INTERFACES>,
}

/// Why no report came.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum InfoRefusal {
    /// The customer said no.
    Denied,
    /// This peer cannot collect system information (a browser).
    Unsupported,
    /// Another request is still waiting for the customer.
    Busy,
    #[serde(other)]
    Other,
}

/// A message on the `system-info` channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SystemInfoMessage {
    /// CSR → customer: please send system information.
    Request { request_id: InfoRequestId },
    /// Customer → CSR: the customer allowed it; here it is.
    Report { request_id: InfoRequestId, report: Box<SystemReport> },
    /// Customer → CSR: no report.
    Refused { request_id: InfoRequestId, reason: InfoRefusal },
}

impl crate::Message for SystemInfoMessage {
    const TYPES: &'static [&'static str] = &["request", "report", "refused"];
}

pub(super) fn typescript_decls(cfg: &ts_rs::Config) -> Vec<String> {
    vec![
        InfoText::decl(cfg),
        MacAddress::decl(cfg),
        InfoRequestId::decl(cfg),
        CpuInfo::decl(cfg),
        MemoryInfo::decl(cfg),
        DiskKind::decl(cfg),
        DiskInfo::decl(cfg),
        DisplayInfo::decl(cfg),
        InterfaceAddress::decl(cfg),
        InterfaceInfo::decl(cfg),
        SystemReport::decl(cfg),
        InfoRefusal::decl(cfg),
        SystemInfoMessage::decl(cfg),
    ]
}

#[cfg(test)]
mod tests {
    use super::super::MAX_CHANNEL_MESSAGE_BYTES;
    use super::*;

    fn text(s: &str) -> InfoText {
        InfoText::parse(s).unwrap()
    }

    #[test]
    fn a_small_report_round_trips_in_its_documented_form() {
        let report = SystemReport {
            collected_at: 1_700_000_000_000,
            host_name: Some(text("<img src=x onerror=alert(1)>")),
            os_name: Some(text("Debian GNU/Linux")),
            os_version: None,
            kernel_version: Some(text("6.1.0")),
            architecture: None,
            uptime_seconds: Some(60),
            cpu: Some(CpuInfo {
                brand: Some(text("Test CPU")),
                vendor: None,
                logical_cores: 2,
                physical_cores: None,
                frequency_mhz: None,
            }),
            memory: MemoryInfo {
                total_bytes: 8,
                available_bytes: 4,
                swap_total_bytes: 0,
                swap_free_bytes: 0,
            },
            disks: Capped::default(),
            displays: Capped::new(vec![DisplayInfo {
                width: 1920,
                height: 1080,
                width_mm: None,
                height_mm: None,
            }])
            .unwrap(),
            interfaces: Capped::new(vec![InterfaceInfo {
                name: text("lo"),
                mac: None,
                addresses: Capped::new(vec![InterfaceAddress {
                    address: "127.0.0.1".parse().unwrap(),
                    prefix: 8,
                }])
                .unwrap(),
            }])
            .unwrap(),
        };
        let m = SystemInfoMessage::Report { request_id: InfoRequestId(3), report: Box::new(report) };
        let encoded = crate::encode(&m);
        assert_eq!(
            encoded,
            r#"{"v":1,"type":"report","request_id":3,"report":{"collected_at":1700000000000,"host_name":"<img src=x onerror=alert(1)>","os_name":"Debian GNU/Linux","kernel_version":"6.1.0","uptime_seconds":60,"cpu":{"brand":"Test CPU","logical_cores":2},"memory":{"total_bytes":8,"available_bytes":4,"swap_total_bytes":0,"swap_free_bytes":0},"disks":[],"displays":[{"width":1920,"height":1080}],"interfaces":[{"name":"lo","addresses":[{"address":"127.0.0.1","prefix":8}]}]}}"#
        );
        assert_eq!(crate::decode::<SystemInfoMessage>(&encoded).unwrap(), m);
        for (m, t) in [
            (
                SystemInfoMessage::Request { request_id: InfoRequestId(1) },
                r#"{"v":1,"type":"request","request_id":1}"#,
            ),
            (
                SystemInfoMessage::Refused { request_id: InfoRequestId(1), reason: InfoRefusal::Denied },
                r#"{"v":1,"type":"refused","request_id":1,"reason":"denied"}"#,
            ),
        ] {
            assert_eq!(crate::encode(&m), t);
            assert_eq!(crate::decode::<SystemInfoMessage>(t).unwrap(), m);
        }
    }

    #[test]
    fn the_largest_report_fits_one_message() {
        // Four-byte characters make the longest encoding of a bounded string.
        let big = || Some(InfoText::parse("😀".repeat(InfoText::MAX_CHARS)).unwrap());
        let address = InterfaceAddress {
            address: "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff".parse().unwrap(),
            prefix: 128,
        };
        let report = SystemReport {
            collected_at: u64::MAX,
            host_name: big(),
            os_name: big(),
            os_version: big(),
            kernel_version: big(),
            architecture: big(),
            uptime_seconds: Some(u64::MAX),
            cpu: Some(CpuInfo {
                brand: big(),
                vendor: big(),
                logical_cores: u32::MAX,
                physical_cores: Some(u32::MAX),
                frequency_mhz: Some(u64::MAX),
            }),
            memory: MemoryInfo {
                total_bytes: u64::MAX,
                available_bytes: u64::MAX,
                swap_total_bytes: u64::MAX,
                swap_free_bytes: u64::MAX,
            },
            disks: Capped::truncating(vec![
                DiskInfo {
                    name: big(),
                    mount_point: big(),
                    file_system: big(),
                    kind: DiskKind::Unknown,
                    removable: false,
                    total_bytes: u64::MAX,
                    available_bytes: u64::MAX,
                };
                MAX_DISKS + 3
            ]),
            displays: Capped::truncating(vec![
                DisplayInfo {
                    width: u32::MAX,
                    height: u32::MAX,
                    width_mm: Some(u32::MAX),
                    height_mm: Some(u32::MAX)
                };
                MAX_DISPLAYS
            ]),
            interfaces: Capped::truncating(vec![
                InterfaceInfo {
                    name: big().unwrap(),
                    mac: Some(MacAddress::parse("ff:ff:ff:ff:ff:ff").unwrap()),
                    addresses: Capped::truncating(vec![address; MAX_ADDRESSES]),
                };
                MAX_INTERFACES
            ]),
        };
        assert_eq!(report.disks.items().len(), MAX_DISKS);
        let m = SystemInfoMessage::Report { request_id: InfoRequestId(u32::MAX), report: Box::new(report) };
        let encoded = crate::encode(&m);
        assert!(encoded.len() <= MAX_CHANNEL_MESSAGE_BYTES, "{} bytes", encoded.len());
        assert_eq!(crate::decode::<SystemInfoMessage>(&encoded).unwrap(), m);
    }

    #[test]
    fn bounds_are_enforced_when_decoding() {
        let interface = |name: &str, mac: &str| {
            format!(
                r#"{{"v":1,"type":"report","request_id":1,"report":{{"collected_at":0,"memory":{{"total_bytes":0,"available_bytes":0,"swap_total_bytes":0,"swap_free_bytes":0}},"disks":[],"displays":[],"interfaces":[{{"name":"{name}","mac":"{mac}","addresses":[]}}]}}}}"#
            )
        };
        assert!(crate::decode::<SystemInfoMessage>(&interface("eth0", "02:00:00:00:00:01")).is_ok());
        for (name, mac) in [
            ("eth0", "02:00:00:00:00:0G"),
            ("eth0", "02-00-00-00-00-01"),
            ("eth0", "02:00:00:00:00:01:02"),
            ("eth0", "02:00:00:00:00:0A"),
            ("", "02:00:00:00:00:01"),
            ("a\\u0007b", "02:00:00:00:00:01"),
        ] {
            assert!(crate::decode::<SystemInfoMessage>(&interface(name, mac)).is_err(), "{name:?} {mac:?}");
        }
        let too_long = "x".repeat(InfoText::MAX_CHARS + 1);
        assert!(crate::decode::<SystemInfoMessage>(&interface(&too_long, "02:00:00:00:00:01")).is_err());
        let displays = vec![r#"{"width":1,"height":1}"#; MAX_DISPLAYS + 1].join(",");
        let text = format!(
            r#"{{"v":1,"type":"report","request_id":1,"report":{{"collected_at":0,"memory":{{"total_bytes":0,"available_bytes":0,"swap_total_bytes":0,"swap_free_bytes":0}},"disks":[],"displays":[{displays}],"interfaces":[]}}}}"#
        );
        assert!(crate::decode::<SystemInfoMessage>(&text).is_err());
    }

    #[test]
    fn lossy_text_fits_whatever_the_system_says() {
        assert_eq!(InfoText::lossy("  Intel\0(R)\n  ").unwrap().as_str(), "Intel (R)");
        assert_eq!(InfoText::lossy(&"é".repeat(500)).unwrap().as_str().chars().count(), InfoText::MAX_CHARS);
        assert_eq!(InfoText::lossy(" \n\t "), None);
        assert_eq!(InfoText::lossy(""), None);
    }
}
