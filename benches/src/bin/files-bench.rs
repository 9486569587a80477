//! File transfer throughput (issue 7's benchmark): a file downloaded native
//! → native over loopback, hashing included, and in the same run the same
//! number of bytes Chromium → Chromium over a data channel as the anchor.
//! Targets: at least 150 MB/s native, and at least 3 times the Chromium figure.
//!
//! ```text
//! cargo build --release -p tandem-benches --bin files-bench
//! target/release/files-bench                    # 1 GiB, 3 runs each
//! target/release/files-bench --size 64MiB --runs 1 --no-chromium
//! ```
//!
//! - **Native** (`files_bench/native.rs`): the real signaling server, a
//!   native customer granting a folder and a native CSR, all in this
//!   process; the bench says yes to the customer's prompts. A file of random
//!   bytes (`/dev/urandom`) is written once, hashed by the bench as it is
//!   written; each run downloads it through the real file transfer (both
//!   ends hash with SHA-256, the receiver checks and renames into place),
//!   timed from the CSR's command to its `TransferFinished`. The receiver's
//!   hash must equal the bench's, the copy's size the file's. The CPU time
//!   is the whole process's (server and both peers).
//! - **Chromium** (`files_bench/chromium.rs`): one page, two peer
//!   connections, one reliable ordered channel per run, 64 KiB chunks with
//!   back-pressure; the bytes are generated in the page
//!   (`crypto.getRandomValues`, not read from a file) and hashed on both
//!   ends, by default with WebCrypto (each chunk's SHA-256, then the digests'),
//!   the fairer anchor: `--chromium-hash js` uses the web client's own
//!   JavaScript SHA-256 (`web/js/sha256.js`), `none` none. CPU time: node
//!   and every Chromium process.
//!
//! Runs alternate (native, Chromium, native, …) so that both meet the same
//! machine; the report gives each run and the medians, in MB/s (10^6 bytes)
//! and MiB/s (2^20 bytes).

#[path = "../files_bench/chromium.rs"]
mod chromium;
#[path = "../files_bench/native.rs"]
mod native;

#[path = "../machine.rs"]
mod machine;
#[path = "../node_driver.rs"]
mod node_driver;
#[path = "../peer_task.rs"]
mod peer_task;
#[path = "../proc_cpu.rs"]
mod proc_cpu;

use machine::{cpu_model, kernel, nproc};

use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::time::Instant;

use chromium::{Chromium, ChromiumRun, Pacing};
use clap::Parser;
use native::{Native, NativeRun};
use sha2::{Digest, Sha256};

#[derive(Parser)]
#[command(about = "File transfer throughput: native → native and Chromium → Chromium on loopback (issue 7)")]
struct Args {
    /// Bytes per transfer: a number with an optional unit (B, KB, MB, GB, KiB, MiB, GiB).
    #[arg(long, default_value = "1GiB", value_parser = parse_size)]
    size: u64,
    /// Transfers per side; the report gives the median.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Leave out the Chromium anchor.
    #[arg(long)]
    no_chromium: bool,
    /// Where the native side's file and the downloaded copies go (default: the temp dir).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// The native peers' SCTP packet size, bytes (576..=16384). Default: the link's own
    /// choice, 16 KiB on loopback (`LinkConfig::sctp_packet_size`); 1191 is webrtc's default.
    #[arg(long)]
    sctp_mtu: Option<u32>,
    /// The page's chunk size, bytes.
    #[arg(long, default_value_t = 64 * 1024)]
    chromium_chunk: usize,
    /// The page stops sending while the channel buffers more than this many bytes.
    #[arg(long, default_value_t = 1024 * 1024)]
    chromium_high_water: usize,
    /// The page's bufferedAmountLowThreshold, bytes.
    #[arg(long, default_value_t = 512 * 1024)]
    chromium_low_water: usize,
    /// How the page hashes: WebCrypto's SHA-256 of each chunk (native code, the fairer anchor),
    /// the web client's own incremental JavaScript SHA-256, or not at all.
    #[arg(long, value_enum, default_value_t = PageHash::Webcrypto)]
    chromium_hash: PageHash,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum PageHash {
    Webcrypto,
    Js,
    None,
}

impl PageHash {
    fn name(self) -> &'static str {
        match self {
            Self::Webcrypto => "webcrypto",
            Self::Js => "js",
            Self::None => "none",
        }
    }
}

const FILE_NAME: &str = "bench.bin";

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .init();
    }
    match run(&args) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> anyhow::Result<()> {
    let began = Instant::now();
    let load_before = load_average();
    let work = match &args.dir {
        Some(dir) => tempfile::tempdir_in(dir)?,
        None => tempfile::tempdir()?,
    };
    let (root, into) = (work.path().join("customer"), work.path().join("csr"));
    std::fs::create_dir(&root)?;
    std::fs::create_dir(&into)?;
    eprintln!("writing {} random bytes to {}", args.size, root.join(FILE_NAME).display());
    let want = random_file(&root.join(FILE_NAME), args.size)?;

    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let mut native = runtime.block_on(Native::start(&root, FILE_NAME, &into, args.sctp_mtu))?;
    let mut chromium = if args.no_chromium {
        None
    } else {
        let pacing = Pacing {
            chunk_bytes: args.chromium_chunk,
            high_water: args.chromium_high_water,
            low_water: args.chromium_low_water,
            hash: args.chromium_hash.name(),
        };
        Some(Chromium::start(&repository(), pacing)?)
    };

    let (mut natives, mut pages) = (Vec::new(), Vec::new());
    for i in 1..=args.runs {
        let run = runtime.block_on(native.download(&want, args.size))?;
        eprintln!("native run {i}: {:.2} s, {:.1} MB/s", run.seconds, mb_per_s(args.size, run.seconds));
        natives.push(run);
        if let Some(chromium) = &mut chromium {
            let run = chromium.transfer(args.size)?;
            eprintln!("Chromium run {i}: {:.2} s, {:.1} MB/s", run.seconds, mb_per_s(args.size, run.seconds));
            pages.push(run);
        }
    }
    let version = chromium.as_ref().map(|c| c.version.clone());
    drop(chromium);
    runtime.block_on(native.stop())?;

    report(args, &natives, &pages, version.as_deref(), work.path(), load_before)?;
    eprintln!("total time {:.0} s", began.elapsed().as_secs_f64());
    Ok(())
}

/// The markdown report on stdout.
fn report(
    args: &Args,
    natives: &[NativeRun],
    pages: &[ChromiumRun],
    version: Option<&str>,
    dir: &Path,
    load_before: String,
) -> anyhow::Result<()> {
    let size = args.size;
    let mut out = String::new();
    use std::fmt::Write as _;
    writeln!(out, "# File transfer throughput (issue 7)\n")?;
    writeln!(out, "- machine: {} cores, {}; Linux {}", nproc(), cpu_model(), kernel())?;
    writeln!(out, "- load average (1, 5, 15 min): {load_before} before, {} after", load_average())?;
    writeln!(out, "- size: {size} bytes ({}), {} runs per side", human(size), args.runs)?;
    writeln!(out, "- native files in {} ({})", dir.display(), file_system(dir))?;
    if let Some(v) = version {
        writeln!(
            out,
            "- Chromium {v}: {} B chunks, pause above {} B buffered, resume at {} B; hash: {}",
            args.chromium_chunk,
            args.chromium_high_water,
            args.chromium_low_water,
            args.chromium_hash.name()
        )?;
    }
    writeln!(out)?;
    writeln!(
        out,
        "| run | native s | native MB/s | native MiB/s | native CPU s | Chromium s | Chromium MB/s | Chromium MiB/s | Chromium CPU s |"
    )?;
    writeln!(out, "|---|---|---|---|---|---|---|---|---|")?;
    let cell = |v: Option<f64>, digits: usize| v.map_or("–".to_owned(), |v| format!("{v:.digits$}"));
    for (i, n) in natives.iter().enumerate() {
        let c = pages.get(i);
        writeln!(
            out,
            "| {} | {:.2} | {:.1} | {:.1} | {:.2} | {} | {} | {} | {} |",
            i + 1,
            n.seconds,
            mb_per_s(size, n.seconds),
            mib_per_s(size, n.seconds),
            n.cpu_seconds,
            cell(c.map(|c| c.seconds), 2),
            cell(c.map(|c| mb_per_s(size, c.seconds)), 1),
            cell(c.map(|c| mib_per_s(size, c.seconds)), 1),
            cell(c.map(|c| c.cpu_seconds), 2),
        )?;
    }
    let native_s = median(natives.iter().map(|r| r.seconds));
    let native_cpu = median(natives.iter().map(|r| r.cpu_seconds));
    let page_s = (!pages.is_empty()).then(|| median(pages.iter().map(|r| r.seconds)));
    let page_cpu = (!pages.is_empty()).then(|| median(pages.iter().map(|r| r.cpu_seconds)));
    writeln!(
        out,
        "| **median** | {native_s:.2} | **{:.1}** | {:.1} | {native_cpu:.2} | {} | **{}** | {} | {} |",
        mb_per_s(size, native_s),
        mib_per_s(size, native_s),
        cell(page_s, 2),
        cell(page_s.map(|s| mb_per_s(size, s)), 1),
        cell(page_s.map(|s| mib_per_s(size, s)), 1),
        cell(page_cpu, 2),
    )?;
    writeln!(out)?;
    let native_mb = mb_per_s(size, native_s);
    let verdict = |ok: bool| if ok { "met" } else { "not met" };
    writeln!(
        out,
        "- native: {native_mb:.1} MB/s, {:.2} CPU s per GiB (target ≥ 150 MB/s: {})",
        native_cpu * (1u64 << 30) as f64 / size as f64,
        verdict(native_mb >= 150.0)
    )?;
    if let (Some(s), Some(cpu)) = (page_s, page_cpu) {
        let ratio = native_mb / mb_per_s(size, s);
        writeln!(
            out,
            "- Chromium: {:.1} MB/s, {:.2} CPU s per GiB; native ÷ Chromium = {ratio:.2} (target ≥ 3: {})",
            mb_per_s(size, s),
            cpu * (1u64 << 30) as f64 / size as f64,
            verdict(ratio >= 3.0)
        )?;
    }
    print!("{out}");
    std::io::stdout().flush()?;
    Ok(())
}

/// Writes `size` bytes from `/dev/urandom` to `path`; returns their SHA-256 (hex).
fn random_file(path: &Path, size: u64) -> anyhow::Result<String> {
    let mut source = std::fs::File::open("/dev/urandom")?;
    let mut file = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    let mut hasher = Sha256::new();
    let mut block = vec![0u8; 1 << 20];
    let mut left = size;
    while left > 0 {
        let n = left.min(block.len() as u64) as usize;
        source.read_exact(&mut block[..n])?;
        hasher.update(&block[..n]);
        file.write_all(&block[..n])?;
        left -= n as u64;
    }
    file.flush()?;
    Ok(hasher.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// A size like `1GiB`, `64MiB`, `100MB` or `4096`.
fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let number: u64 = number.parse().map_err(|_| format!("{s:?}: expected a number and a unit"))?;
    let factor: u64 = match unit.trim() {
        "" | "B" => 1,
        "KB" | "kB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        other => return Err(format!("unknown unit {other:?} (B, KB, MB, GB, KiB, MiB, GiB)")),
    };
    number.checked_mul(factor).filter(|&n| n > 0).ok_or_else(|| format!("{s:?}: out of range"))
}

fn human(bytes: u64) -> String {
    match bytes {
        b if b % (1 << 30) == 0 => format!("{} GiB", b >> 30),
        b if b % (1 << 20) == 0 => format!("{} MiB", b >> 20),
        b => format!("{:.1} MB", b as f64 / 1e6),
    }
}

fn mb_per_s(bytes: u64, seconds: f64) -> f64 {
    bytes as f64 / 1e6 / seconds
}

fn mib_per_s(bytes: u64, seconds: f64) -> f64 {
    bytes as f64 / (1u64 << 20) as f64 / seconds
}

fn median(values: impl Iterator<Item = f64>) -> f64 {
    let mut v: Vec<f64> = values.collect();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// The repository (the driver and `node_modules` are there).
fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

/// The file system type holding `dir` (from `/proc/mounts`: the longest mount point above it).
fn file_system(dir: &Path) -> String {
    let Ok(dir) = dir.canonicalize() else { return "?".into() };
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
    mounts
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            (f.len() > 2 && dir.starts_with(f[1])).then(|| (f[1].len(), format!("{} on {}", f[2], f[1])))
        })
        .max()
        .map_or_else(|| "?".into(), |(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_parse_with_their_units() {
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert_eq!(parse_size("64MiB"), Ok(64 << 20));
        assert_eq!(parse_size("100MB"), Ok(100_000_000));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert!(parse_size("0").is_err());
        assert!(parse_size("1 TB").is_err());
        assert!(parse_size("MiB").is_err());
    }
}
