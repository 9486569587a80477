//! System information (TOOL-7): what the customer's computer is, collected
//! only after the customer allowed it and sent as a
//! [`tandem_wire::channels::system_info::SystemReport`].
//!
//! Two steps, so that the second is tested without the machine:
//! [`Facts::collect`] asks the OS (through the `sysinfo` crate, and the X
//! server for displays when `DISPLAY` is set), [`Facts::report`] turns the
//! facts into the bounded wire type. What never goes into a report: the
//! environment, user names, process lists, and MAC addresses unless
//! [`ReportOptions::include_mac_addresses`] (the customer agreed).

use std::net::IpAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use sysinfo::{CpuRefreshKind, Disks, Networks, System};
use tandem_wire::channels::remote_files::Capped;
use tandem_wire::channels::system_info::{
    CpuInfo, DiskInfo, DiskKind, DisplayInfo, InfoText, InterfaceAddress, InterfaceInfo, MAX_ADDRESSES,
    MacAddress, MemoryInfo, SystemReport,
};

/// What the customer agreed to include.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReportOptions {
    pub include_mac_addresses: bool,
}

/// Raw facts about this machine, as the OS gave them (unbounded).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Facts {
    pub host_name: Option<String>,
    pub os_name: Option<String>,
    pub os_version: Option<String>,
    pub kernel_version: Option<String>,
    pub architecture: Option<String>,
    pub uptime_seconds: Option<u64>,
    pub cpu_brand: Option<String>,
    pub cpu_vendor: Option<String>,
    pub logical_cores: usize,
    pub physical_cores: Option<usize>,
    pub cpu_frequency_mhz: Option<u64>,
    pub memory: MemoryInfo,
    pub disks: Vec<DiskFact>,
    pub displays: Vec<DisplayInfo>,
    pub interfaces: Vec<InterfaceFact>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskFact {
    pub name: String,
    pub mount_point: String,
    pub file_system: String,
    pub kind: DiskKind,
    pub removable: bool,
    pub total_bytes: u64,
    pub available_bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceFact {
    pub name: String,
    pub mac: [u8; 6],
    pub addresses: Vec<(IpAddr, u8)>,
}

impl Facts {
    /// Asks this machine. Takes a few hundred milliseconds (the CPU list and
    /// the disks); run it off the session's task.
    pub fn collect() -> Self {
        let mut sys = System::new();
        sys.refresh_memory();
        sys.refresh_cpu_list(CpuRefreshKind::nothing().with_frequency());
        let cpus = sys.cpus();
        let first = cpus.first();
        let disks = Disks::new_with_refreshed_list()
            .list()
            .iter()
            .map(|d| DiskFact {
                name: d.name().to_string_lossy().into_owned(),
                mount_point: d.mount_point().to_string_lossy().into_owned(),
                file_system: d.file_system().to_string_lossy().into_owned(),
                kind: match d.kind() {
                    sysinfo::DiskKind::HDD => DiskKind::Hdd,
                    sysinfo::DiskKind::SSD => DiskKind::Ssd,
                    sysinfo::DiskKind::Unknown(_) => DiskKind::Unknown,
                },
                removable: d.is_removable(),
                total_bytes: d.total_space(),
                available_bytes: d.available_space(),
            })
            .collect();
        let mut interfaces: Vec<InterfaceFact> = Networks::new_with_refreshed_list()
            .list()
            .iter()
            .map(|(name, data)| InterfaceFact {
                name: name.clone(),
                mac: data.mac_address().0,
                addresses: data.ip_networks().iter().map(|n| (n.addr, n.prefix)).collect(),
            })
            .collect();
        interfaces.sort_by(|a, b| a.name.cmp(&b.name));
        let displays = std::env::var("DISPLAY").ok().map(|d| x11_displays(&d)).unwrap_or_default();
        Self {
            host_name: System::host_name(),
            os_name: System::name(),
            os_version: System::os_version(),
            kernel_version: System::kernel_version(),
            architecture: Some(System::cpu_arch()),
            uptime_seconds: Some(System::uptime()),
            cpu_brand: first.map(|c| c.brand().to_owned()),
            cpu_vendor: first.map(|c| c.vendor_id().to_owned()),
            logical_cores: cpus.len(),
            physical_cores: System::physical_core_count(),
            cpu_frequency_mhz: first.map(|c| c.frequency()).filter(|&f| f > 0),
            memory: MemoryInfo {
                total_bytes: sys.total_memory(),
                available_bytes: sys.available_memory(),
                swap_total_bytes: sys.total_swap(),
                swap_free_bytes: sys.free_swap(),
            },
            disks,
            displays,
            interfaces,
        }
    }

    /// The bounded report: every string cleaned and cut to fit, lists capped,
    /// MAC addresses only if agreed (and never the all-zero one of a loopback).
    pub fn report(&self, options: ReportOptions, collected_at: SystemTime) -> SystemReport {
        let text = |s: &Option<String>| s.as_deref().and_then(InfoText::lossy);
        let interfaces = self
            .interfaces
            .iter()
            .filter_map(|i| {
                let name = InfoText::lossy(&i.name)?;
                let mac = (options.include_mac_addresses && i.mac != [0; 6]).then(|| mac_text(i.mac));
                let addresses: Vec<InterfaceAddress> = i
                    .addresses
                    .iter()
                    .take(MAX_ADDRESSES)
                    .map(|&(address, prefix)| InterfaceAddress { address, prefix })
                    .collect();
                Some(InterfaceInfo { name, mac, addresses: Capped::truncating(addresses) })
            })
            .collect();
        SystemReport {
            collected_at: collected_at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64),
            host_name: text(&self.host_name),
            os_name: text(&self.os_name),
            os_version: text(&self.os_version),
            kernel_version: text(&self.kernel_version),
            architecture: text(&self.architecture),
            uptime_seconds: self.uptime_seconds,
            cpu: (self.logical_cores > 0 || self.cpu_brand.is_some()).then(|| CpuInfo {
                brand: text(&self.cpu_brand),
                vendor: text(&self.cpu_vendor),
                logical_cores: u32::try_from(self.logical_cores).unwrap_or(u32::MAX),
                physical_cores: self.physical_cores.and_then(|n| u32::try_from(n).ok()),
                frequency_mhz: self.cpu_frequency_mhz,
            }),
            memory: self.memory,
            disks: Capped::truncating(
                self.disks
                    .iter()
                    .map(|d| DiskInfo {
                        name: InfoText::lossy(&d.name),
                        mount_point: InfoText::lossy(&d.mount_point),
                        file_system: InfoText::lossy(&d.file_system),
                        kind: d.kind,
                        removable: d.removable,
                        total_bytes: d.total_bytes,
                        available_bytes: d.available_bytes,
                    })
                    .collect(),
            ),
            displays: Capped::truncating(self.displays.clone()),
            interfaces: Capped::truncating(interfaces),
        }
    }
}

fn mac_text(mac: [u8; 6]) -> MacAddress {
    let text = mac.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":");
    // Six bytes always make 17 lowercase characters in the checked form.
    MacAddress::parse(text).expect("a MAC address in its wire form")
}

/// The screens of the X server at `display`: none when it cannot be reached.
pub fn x11_displays(display: &str) -> Vec<DisplayInfo> {
    let Ok((conn, _)) = x11rb::connect(Some(display)) else { return Vec::new() };
    use x11rb::connection::Connection as _;
    conn.setup()
        .roots
        .iter()
        .map(|s| DisplayInfo {
            width: u32::from(s.width_in_pixels),
            height: u32::from(s.height_in_pixels),
            width_mm: Some(u32::from(s.width_in_millimeters)).filter(|&mm| mm > 0),
            height_mm: Some(u32::from(s.height_in_millimeters)).filter(|&mm| mm > 0),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    use std::time::Duration;

    use tandem_wire::channels::system_info::{InfoRequestId, MAX_DISKS, MAX_INTERFACES, SystemInfoMessage};

    use super::*;

    fn hostile_facts() -> Facts {
        Facts {
            host_name: Some("<img src=x onerror=alert(1)>".into()),
            os_name: Some("Debian\u{0}GNU/Linux\n".into()),
            os_version: Some("x".repeat(1000)),
            kernel_version: Some("   ".into()),
            architecture: Some("x86_64".into()),
            uptime_seconds: Some(5),
            cpu_brand: Some("CPU\tModel".into()),
            cpu_vendor: None,
            logical_cores: 2,
            physical_cores: Some(1),
            cpu_frequency_mhz: None,
            memory: MemoryInfo {
                total_bytes: 8 << 30,
                available_bytes: 1 << 30,
                swap_total_bytes: 0,
                swap_free_bytes: 0,
            },
            disks: vec![
                DiskFact {
                    name: "sda1".into(),
                    mount_point: "/".into(),
                    file_system: "ext4".into(),
                    kind: DiskKind::Ssd,
                    removable: false,
                    total_bytes: 100,
                    available_bytes: 50,
                };
                40
            ],
            displays: vec![DisplayInfo { width: 1920, height: 1080, width_mm: None, height_mm: None }],
            interfaces: (0..30)
                .map(|i| InterfaceFact {
                    name: format!("eth{i}"),
                    mac: [0x02, 0, 0, 0, 0, i as u8],
                    addresses: (0..40).map(|j| (IpAddr::from([10, 0, i as u8, j as u8]), 24)).collect(),
                })
                .chain([InterfaceFact { name: "lo".into(), mac: [0; 6], addresses: vec![] }])
                .collect(),
        }
    }

    #[test]
    fn reports_are_bounded_cleaned_and_carry_no_mac_unless_agreed() {
        let facts = hostile_facts();
        let at = UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
        let report = facts.report(ReportOptions::default(), at);
        assert_eq!(report.collected_at, 1_700_000_000_123);
        assert_eq!(
            report.host_name.as_ref().unwrap().as_str(),
            "<img src=x onerror=alert(1)>",
            "kept as text"
        );
        assert_eq!(report.os_name.as_ref().unwrap().as_str(), "Debian GNU/Linux");
        assert_eq!(report.os_version.as_ref().unwrap().as_str().chars().count(), InfoText::MAX_CHARS);
        assert_eq!(report.kernel_version, None, "blank is absent");
        assert_eq!(report.cpu.as_ref().unwrap().brand.as_ref().unwrap().as_str(), "CPU Model");
        assert_eq!(report.disks.items().len(), MAX_DISKS);
        assert_eq!(report.interfaces.items().len(), MAX_INTERFACES);
        assert!(report.interfaces.items().iter().all(|i| i.mac.is_none()), "no MAC without agreement");
        assert!(report.interfaces.items().iter().all(|i| i.addresses.items().len() <= MAX_ADDRESSES));

        let with_mac = facts.report(ReportOptions { include_mac_addresses: true }, at);
        assert_eq!(with_mac.interfaces.items()[0].mac.as_ref().unwrap().as_str(), "02:00:00:00:00:00");
        let lo = Facts { interfaces: vec![facts.interfaces.last().unwrap().clone()], ..Facts::default() };
        assert!(
            lo.report(ReportOptions { include_mac_addresses: true }, at).interfaces.items()[0].mac.is_none()
        );

        // The biggest report these facts make fits one message and decodes.
        let message = SystemInfoMessage::Report { request_id: InfoRequestId(1), report: Box::new(with_mac) };
        let text = tandem_wire::encode(&message);
        assert!(text.len() <= tandem_wire::channels::MAX_CHANNEL_MESSAGE_BYTES, "{} bytes", text.len());
        assert_eq!(tandem_wire::decode::<SystemInfoMessage>(&text).unwrap(), message);
    }

    #[test]
    fn this_machine_is_described_without_secrets() {
        let facts = Facts::collect();
        let report = facts.report(ReportOptions::default(), SystemTime::now());
        let text = tandem_wire::encode(&SystemInfoMessage::Report {
            request_id: InfoRequestId(1),
            report: Box::new(report.clone()),
        });
        // Nothing from the environment (long values that are not paths, which a mount point could share).
        for (name, value) in std::env::vars() {
            if value.len() >= 24 && !value.starts_with('/') {
                assert!(!text.contains(&value), "${name} is in the report");
            }
        }
        assert!(report.memory.total_bytes > 0);
        assert!(report.cpu.as_ref().unwrap().logical_cores >= 1);
        assert!(report.os_name.is_some() && report.kernel_version.is_some());
        let lo =
            report.interfaces.items().iter().find(|i| i.name.as_str() == "lo").expect("a loopback interface");
        assert!(
            lo.addresses.items().iter().any(|a| a.address == IpAddr::from([127, 0, 0, 1]) && a.prefix == 8)
        );
        assert!(report.interfaces.items().iter().all(|i| i.mac.is_none()));
        assert!(!report.disks.items().is_empty(), "at least the root file system");
        assert!(text.len() <= tandem_wire::channels::MAX_CHANNEL_MESSAGE_BYTES);
    }

    /// A private X server, stopped when dropped.
    struct Xvfb(std::process::Child);

    impl Drop for Xvfb {
        fn drop(&mut self) {
            // SIGTERM lets Xvfb remove its socket and lock file.
            // SAFETY: a plain system call on our own child's pid.
            unsafe { libc::kill(self.0.id() as libc::pid_t, libc::SIGTERM) };
            let _ = self.0.wait();
        }
    }

    #[test]
    fn displays_come_from_the_x_server() {
        assert!(x11_displays(":4242").is_empty(), "no server there: no displays");
        // -displayfd: Xvfb picks a free display and prints its number once it accepts connections.
        let child = Command::new("Xvfb")
            .args(["-displayfd", "1", "-screen", "0", "1024x768x24", "-nolisten", "tcp"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("Xvfb must be installed (scripts/debian-packages/peer.txt)");
        let mut xvfb = Xvfb(child);
        let stdout = xvfb.0.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let number = rx.recv_timeout(Duration::from_secs(20)).expect("Xvfb printed its display within 20 s");
        let display = format!(":{}", number.trim());
        let displays = x11_displays(&display);
        assert_eq!(displays.len(), 1, "{display}");
        assert_eq!((displays[0].width, displays[0].height), (1024, 768));
        drop(xvfb);
    }
}
