//! The accept loop: HTTP/1.1 connections with a head deadline, a cap on open connections that
//! sheds the longest-idle one, and graceful shutdown.
//!
//! `axum::serve` sets no timer, so a connection that sends a request line only, or nothing,
//! stays open for ever; and it has no connection limit, so a few hundred such sockets exhaust
//! the file descriptors and the server stops answering. Here every connection runs on hyper's
//! HTTP/1 server with:
//! - [`Limits::header_timeout`]: the request head (request line and headers) must arrive whole
//!   within this time of the connection opening or of the previous answer. It bounds slow
//!   headers and idle keep-alive connections alike.
//! - [`Limits::max_header_bytes`]: a longer head is refused (431) without being read further,
//!   so a single 200 MB line costs the server one buffer, not 200 MB.
//! - [`Limits::max_connections`] (and the process's file-descriptor limit): at the cap, or when
//!   `accept` runs out of descriptors, the connection that has waited longest without a request
//!   in flight is closed to make room, so slow or idle clients cannot lock new ones out.
//!
//! Body reading, the request deadline and the prediction pool are the router's
//! (the layer in `guard.rs`, and [`crate::pool`]).

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tower::ServiceExt;

use crate::Limits;

/// One open connection, as the shedding sees it.
struct Connection {
    /// Requests being answered on it now.
    in_flight: AtomicUsize,
    /// When it opened or last finished answering, in microseconds since the server started.
    idle_since: AtomicU64,
    /// Closes it.
    abort: Mutex<Option<tokio::task::AbortHandle>>,
}

/// The open connections, by id.
#[derive(Default)]
struct Table {
    open: Mutex<HashMap<u64, Arc<Connection>>>,
    next_id: AtomicU64,
}

impl Table {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<Connection>>> {
        // A panic elsewhere while holding the lock leaves the map whole: keep using it.
        self.open.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn len(&self) -> usize {
        self.lock().len()
    }

    /// Closes the connection idle for longest (none in flight); false when every connection is
    /// answering a request.
    fn shed_one(&self) -> bool {
        let open = self.lock();
        let idlest = open
            .iter()
            .filter(|(_, c)| c.in_flight.load(Ordering::Acquire) == 0)
            .min_by_key(|(_, c)| c.idle_since.load(Ordering::Acquire));
        let Some((_, connection)) = idlest else {
            return false;
        };
        if let Some(abort) = connection
            .abort
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            abort.abort();
        }
        true
    }
}

/// Removes a connection from the table when its task ends, however it ends.
struct Registration {
    table: Arc<Table>,
    id: u64,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.table.lock().remove(&self.id);
    }
}

/// Counts a request in flight on its connection while alive.
struct InFlight {
    connection: Arc<Connection>,
    epoch: Instant,
}

impl InFlight {
    fn enter(connection: &Arc<Connection>, epoch: Instant) -> InFlight {
        connection.in_flight.fetch_add(1, Ordering::AcqRel);
        InFlight {
            connection: connection.clone(),
            epoch,
        }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let now = micros_since(self.epoch);
        self.connection.idle_since.store(now, Ordering::Release);
        self.connection.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

fn micros_since(epoch: Instant) -> u64 {
    u64::try_from(epoch.elapsed().as_micros()).unwrap_or(u64::MAX)
}

/// The connection cap in force: the configured one, lowered to leave 32 descriptors of the
/// process's soft limit for everything else (the listener, model files, logs).
pub fn effective_max_connections(configured: usize) -> usize {
    let soft = rustix::process::getrlimit(rustix::process::Resource::Nofile).current;
    match soft.and_then(|limit| usize::try_from(limit).ok()) {
        Some(limit) => configured.min(limit.saturating_sub(32)).max(1),
        None => configured.max(1),
    }
}

/// Whether an `accept` error means the process or system is out of file descriptors.
fn out_of_descriptors(error: &std::io::Error) -> bool {
    let code = error.raw_os_error();
    code == Some(rustix::io::Errno::MFILE.raw_os_error())
        || code == Some(rustix::io::Errno::NFILE.raw_os_error())
}

/// Serves `router` on `listener` with `limits` until `shutdown` completes, then lets the
/// answers under way finish (for at most [`Limits::request_timeout`]).
pub(crate) async fn serve(
    router: Router,
    listener: TcpListener,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let table = Arc::new(Table::default());
    let cap = effective_max_connections(limits.max_connections);
    let epoch = Instant::now();
    let mut tasks = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    if table.len() >= cap {
                        table.shed_one();
                    }
                    open(&mut tasks, &table, stream, router.clone(), &limits, epoch);
                }
                Err(error) => {
                    // Out of descriptors: make room. Other errors (a connection reset before
                    // it was accepted) concern one client. Either way, pause briefly so that
                    // a persistent error cannot spin the loop.
                    if out_of_descriptors(&error) {
                        table.shed_one();
                    }
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            },
        }
    }
    drop(listener);
    let _ = tokio::time::timeout(limits.request_timeout, async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    Ok(())
}

/// Starts serving one accepted connection on its own task, registered in `table`.
fn open(
    tasks: &mut JoinSet<()>,
    table: &Arc<Table>,
    stream: tokio::net::TcpStream,
    router: Router,
    limits: &Limits,
    epoch: Instant,
) {
    let _ = stream.set_nodelay(true);
    let id = table.next_id.fetch_add(1, Ordering::Relaxed);
    let connection = Arc::new(Connection {
        in_flight: AtomicUsize::new(0),
        idle_since: AtomicU64::new(micros_since(epoch)),
        abort: Mutex::new(None),
    });
    table.lock().insert(id, connection.clone());
    let registration = Registration {
        table: table.clone(),
        id,
    };
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(limits.max_header_bytes.max(8192))
        .keep_alive(true);
    let service_connection = connection.clone();
    let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
        let in_flight = InFlight::enter(&service_connection, epoch);
        let router = router.clone();
        async move {
            let response = router.oneshot(request.map(Body::new)).await;
            drop(in_flight);
            Ok::<_, Infallible>(response.unwrap_or_else(|never| match never {}))
        }
    });
    let abort = tasks.spawn(async move {
        let _registration = registration;
        // A client that closes or breaks its connection ends it; nothing to report.
        let _ = builder
            .serve_connection(TokioIo::new(stream), service)
            .await;
    });
    *connection
        .abort
        .lock()
        .unwrap_or_else(PoisonError::into_inner) = Some(abort);
}
