//! A Ballista cluster on loopback ports (one scheduler, two executors, each a process of its own)
//! scores a partitioned catalogue with the bundles' SQL functions, as one DataFusion process
//! does, row for row and bit for bit; both executors do part of the work.

#[path = "../../bundle-sql/tests/common/mod.rs"]
mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bundle_sql::{register_bundles, register_table, SessionOptions, TableSource};
use common::{
    assert_same_rows, catalogue, data_dir, moods_bundle, output_columns, rows_by_id, select_list,
    valence_bundle,
};

/// The processes a test started: each is killed and reaped when the guard drops, whether the
/// test passed or panicked.
struct Processes {
    children: Vec<(String, Child, PathBuf)>,
}

impl Processes {
    /// Starts `program` with `args`, its output going to `log`.
    fn start(&mut self, name: &str, program: &str, args: &[String], log: PathBuf) {
        let file = std::fs::File::create(&log).unwrap();
        let child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {name}: {e}"));
        self.children.push((name.to_string(), child, log));
    }

    /// Panics, with the tail of every log, when a process has exited.
    fn assert_running(&mut self) {
        let mut exited = None;
        for (name, child, _) in &mut self.children {
            if let Some(status) = child.try_wait().unwrap() {
                exited = Some(format!("{name} exited ({status})"));
                break;
            }
        }
        if let Some(exited) = exited {
            panic!("{exited}\n{}", self.logs());
        }
    }

    /// The last lines of each process's log.
    fn logs(&self) -> String {
        let mut text = String::new();
        for (name, _, log) in &self.children {
            let content = std::fs::read_to_string(log).unwrap_or_default();
            let lines: Vec<&str> = content.lines().collect();
            let tail = lines[lines.len().saturating_sub(15)..].join("\n");
            text.push_str(&format!("--- {name} ({})\n{tail}\n", log.display()));
        }
        text
    }
}

impl Drop for Processes {
    fn drop(&mut self) {
        for (_, child, _) in &mut self.children {
            // An error here means the process has already exited: nothing to stop.
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A loopback port that was free a moment ago.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Whether `GET path` on the loopback port answers 200.
fn http_ok(port: u16, path: &str) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request = format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response.starts_with("HTTP/1.1 200") || response.starts_with("HTTP/1.0 200")
}

/// Files under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return files;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_two_executor_cluster_scores_as_one_process_does() {
    let Some(data) = data_dir() else { return };
    let dir = tempfile::tempdir().unwrap();
    let tracks = dir.path().join("tracks");
    std::fs::create_dir(&tracks).unwrap();
    for part in 0..4 {
        let file = tracks.join(format!("part-{part}.parquet"));
        catalogue(&data, &file, 3_000, 20 + part);
    }
    let bundles = vec![valence_bundle(dir.path()), moods_bundle(dir.path())];
    let mut model_args = vec!["--model".to_string()];
    model_args.extend(bundles.iter().map(|b| b.display().to_string()));

    let mut processes = Processes {
        children: Vec::new(),
    };
    let scheduler_port = free_port();
    let mut scheduler_args: Vec<String> = [
        "--bind-host",
        "127.0.0.1",
        "--external-host",
        "127.0.0.1",
        "--bind-port",
        &scheduler_port.to_string(),
        "--task-distribution",
        "round-robin",
    ]
    .map(String::from)
    .to_vec();
    scheduler_args.extend(model_args.clone());
    processes.start(
        "scheduler",
        env!("CARGO_BIN_EXE_bundle_scheduler"),
        &scheduler_args,
        dir.path().join("scheduler.log"),
    );
    let mut health_ports = Vec::new();
    let mut work_dirs = Vec::new();
    for executor in 0..2 {
        let work_dir = dir.path().join(format!("work-{executor}"));
        std::fs::create_dir(&work_dir).unwrap();
        let health_port = free_port();
        let mut args: Vec<String> = [
            "--scheduler-host",
            "127.0.0.1",
            "--scheduler-port",
            &scheduler_port.to_string(),
            "--bind-host",
            "127.0.0.1",
            "--external-host",
            "127.0.0.1",
            "--bind-port",
            &free_port().to_string(),
            "--bind-grpc-port",
            &free_port().to_string(),
            "--bind-health-port",
            &health_port.to_string(),
            "--concurrent-tasks",
            "1",
            "--work-dir",
            &work_dir.display().to_string(),
        ]
        .map(String::from)
        .to_vec();
        args.extend(model_args.clone());
        processes.start(
            &format!("executor {executor}"),
            env!("CARGO_BIN_EXE_bundle_executor"),
            &args,
            dir.path().join(format!("executor-{executor}.log")),
        );
        health_ports.push(health_port);
        work_dirs.push(work_dir);
    }
    // Ready: each executor has registered with the scheduler and sent its heartbeat.
    let start = Instant::now();
    while !health_ports.iter().all(|&port| http_ok(port, "/readyz")) {
        processes.assert_running();
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the executors were not ready within a minute\n{}",
            processes.logs()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let loaded = bundle_sql::load_bundles(&bundles).unwrap();
    let query = format!("SELECT id, {} FROM tracks", select_list(&bundles, false));
    // Four partitions for two executors of one task slot each: both get tasks.
    let options = SessionOptions::default().target_partitions(Some(4));
    let url = format!("df://127.0.0.1:{scheduler_port}");
    let cluster = bundle_cluster::client(&url, &loaded, &options)
        .await
        .unwrap();
    let source = TableSource {
        name: "tracks".into(),
        path: tracks.clone(),
    };
    register_table(&cluster, &source).await.unwrap();
    let distributed = match cluster.sql(&query).await.unwrap().collect().await {
        Ok(batches) => batches,
        Err(error) => panic!("{error}\n{}", processes.logs()),
    };

    let local = SessionOptions::default().context().unwrap();
    register_bundles(&local, &loaded).unwrap();
    register_table(&local, &source).await.unwrap();
    let single = local.sql(&query).await.unwrap().collect().await.unwrap();

    let outputs = output_columns(&bundles);
    let names: Vec<&str> = outputs.iter().map(String::as_str).collect();
    let expected = rows_by_id(&single, &names);
    assert_eq!(expected.len(), 12_000);
    let (nulls, values) = assert_same_rows(&expected, &rows_by_id(&distributed, &names), &names);
    assert!(
        nulls > 0 && values > nulls,
        "{nulls} nulls, {values} values"
    );
    for (executor, work_dir) in work_dirs.iter().enumerate() {
        let files = files_under(work_dir);
        assert!(
            !files.is_empty(),
            "executor {executor} wrote no task output under {}\n{}",
            work_dir.display(),
            processes.logs()
        );
    }
}
