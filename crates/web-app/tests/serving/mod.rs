//! The app on an ephemeral loopback port, served from a background thread on the server's own
//! runtime (`web_app::server_runtime`): shared by the integration tests, which each start their
//! own servers. The server stops when the test process ends.

use std::net::SocketAddr;
use std::time::Duration;

use web_app::App;

/// Serves `app` on `127.0.0.1:0` and returns the address once it listens (within 10 s).
pub fn start(app: App) -> SocketAddr {
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = web_app::server_runtime(1).expect("tokio runtime");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind an ephemeral loopback port");
            sender.send(listener.local_addr().expect("address")).ok();
            app.serve(listener, std::future::pending())
                .await
                .expect("serve");
        });
    });
    receiver
        .recv_timeout(Duration::from_secs(10))
        .expect("server started")
}
