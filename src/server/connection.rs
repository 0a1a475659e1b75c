//! One client connection: read bytes, parse every complete request, execute each in order,
//! encode the replies, and write them back in one go.
//!
//! Pipelining falls out of this loop: all requests that arrived together are executed before the
//! replies are written, and with `appendfsync always` one WAL sync covers the whole batch before
//! any of its replies leaves. Limits are Redis's: a query buffer over
//! `client-query-buffer-limit` closes the connection, a protocol error is answered with
//! `-ERR Protocol error: ...` and closes it, an idle client is closed after `timeout` seconds.

use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use formats::resp::{parse_command, Limits, Reply};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

use super::context::Handover;
use super::dispatch::{self, Outcome};
use super::durability::Durability;
use super::stats::Stats;
use super::{blocking, ClientSignals, ClientState, Server, Shared};

/// Pushed messages (MONITOR lines, pub/sub messages) a client may have queued before it is
/// dropped as too slow. Pub/sub messages are also bounded in bytes by the pubsub class's
/// `client-output-buffer-limit`; this count only has to stop a runaway queue of small messages,
/// so it is high enough for pipelined PUBLISH bursts to a subscriber that does keep up.
const PUSH_QUEUE_MESSAGES: usize = 1 << 20;
/// Initial read buffer; it grows for big arguments and shrinks back after.
const READ_BUFFER_BYTES: usize = 16 * 1024;

const PROTECTED_MODE_MESSAGE: &str = "-DENIED Redis is running in protected mode because protected mode is \
enabled and no password is set for the default user. In this mode connections are only accepted from the \
loopback interface. If you want to connect from external computers to Redis you may adopt one of the \
following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from \
the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE \
Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change \
permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration \
file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the \
server manually just for testing, restart it with the '--protected-mode no' option. 4) Setup a an \
authentication password for the default user. NOTE: You only need to do one of the above things in order \
for the server to start accepting connections from the outside.\r\n";

/// Serves one accepted connection until it closes.
pub async fn serve(server: Arc<Server>, mut stream: TcpStream, addr: SocketAddr) {
    Stats::bump(&server.stats.connections_received, 1);
    let connected = server.connected_clients.fetch_add(1, Ordering::SeqCst) + 1;
    let _guard = ConnectedGuard(Arc::clone(&server));
    if connected > server.tunables.maxclients.load(Ordering::Relaxed) {
        Stats::bump(&server.stats.rejected_connections, 1);
        let _ = stream
            .write_all(b"-ERR max number of clients reached\r\n")
            .await;
        return;
    }
    if protected_mode_refuses(&server, &addr) {
        Stats::bump(&server.stats.rejected_connections, 1);
        let _ = stream.write_all(PROTECTED_MODE_MESSAGE.as_bytes()).await;
        return;
    }
    let _ = stream.set_nodelay(true);
    let laddr = stream.local_addr().unwrap_or(addr);
    let id = server.next_client_id.fetch_add(1, Ordering::SeqCst) + 1;
    let (push_tx, mut push_rx) = mpsc::channel(PUSH_QUEUE_MESSAGES);
    let signals = Arc::new(ClientSignals::new(push_tx));
    {
        let mut state = ClientState::new(id, addr, laddr, stream.as_raw_fd(), Arc::clone(&signals));
        state.authenticated = !server.requires_auth();
        server.exec.lock().clients.insert(id, Box::new(state));
    }
    if let Err(e) = client_loop(&server, id, &signals, &mut stream, &mut push_rx).await {
        tracing::debug!("client {addr} closed: {e}");
    }
    let mut shared = server.exec.lock();
    if let Some(mut client) = shared.clients.remove(&id) {
        shared.forget_client(&mut client);
    }
}

struct ConnectedGuard(Arc<Server>);

impl Drop for ConnectedGuard {
    fn drop(&mut self) {
        self.0.connected_clients.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Whether CLIENT PAUSE holds this command now: every command, or with PAUSE WRITE the ones
/// that may change the dataset.
fn pause_applies(server: &Server, args: &[bytes::Bytes]) -> bool {
    let until = server.pause_until_ms.load(Ordering::Relaxed);
    if until == 0 || until <= super::unix_ms() {
        return false;
    }
    if !server.pause_writes_only.load(Ordering::Relaxed) {
        return true;
    }
    server.commands.lookup(args).is_ok_and(|entry| {
        entry.meta.flags & (crate::commands::meta::WRITE | crate::commands::meta::MAY_REPLICATE)
            != 0
    })
}

fn protected_mode_refuses(server: &Server, addr: &SocketAddr) -> bool {
    if addr.ip().is_loopback() || server.requires_auth() {
        return false;
    }
    server.config.read().get_bool("protected-mode")
}

async fn client_loop(
    server: &Arc<Server>,
    id: u64,
    signals: &ClientSignals,
    stream: &mut TcpStream,
    push_rx: &mut mpsc::Receiver<bytes::Bytes>,
) -> std::io::Result<()> {
    let mut input = BytesMut::with_capacity(READ_BUFFER_BYTES);
    let mut output = BytesMut::new();
    let mut session = Session {
        protocol: 2,
        authenticated: !server.requires_auth(),
        commit_seq: None,
    };
    // Set when a command blocked the client: its deadline (`None`: none).
    let mut blocked: Option<Option<Instant>> = None;
    loop {
        let timeout_secs = server.tunables.timeout_secs.load(Ordering::Relaxed);
        // With no `timeout` (the default) no timer is armed: arming one reads the clock on
        // every read.
        let idle = async {
            match timeout_secs {
                0 => std::future::pending().await,
                secs => tokio::time::sleep(Duration::from_secs(secs)).await,
            }
        };
        session.commit_seq = None;
        if let Some(deadline) = blocked.take() {
            // The blocked command's answer goes out first, then the requests that arrived
            // meanwhile run. Another client's write served it: that write must be durable too.
            let Some(answer) =
                wait_unblocked(server, id, signals, stream, &mut input, push_rx, deadline).await?
            else {
                return Ok(());
            };
            if let Some(reply) = answer {
                reply.encode(session.protocol, &mut output);
            }
            session.commit_seq = Some(server.durability.committed());
        } else {
            tokio::select! {
            read = stream.read_buf(&mut input) => {
                match read {
                    Ok(0) => return Ok(()),
                    Ok(n) => Stats::bump(&server.stats.net_input_bytes, n as u64),
                    Err(e) => return Err(e),
                }
            }
            _ = idle => return Ok(()), // idle for longer than `timeout`
            pushed = push_rx.recv() => {
                if let Some(message) = pushed {
                    signals.taken(message.len());
                    output.extend_from_slice(&message);
                }
            }
            _ = signals.kill.notified() => return Ok(()),
            }
        }
        let mut close = false;
        let mut held: Option<Vec<Bytes>> = None;
        loop {
            let end = run_requests(
                server,
                id,
                signals,
                &mut session,
                &mut input,
                &mut output,
                push_rx,
                held.take(),
            );
            match end {
                BatchEnd::Drained => break,
                BatchEnd::Close => {
                    close = true;
                    break;
                }
                BatchEnd::Blocked(deadline) => {
                    blocked = Some(deadline);
                    break;
                }
                BatchEnd::Handover(Handover::Sync(request)) => {
                    if let Some(seq) = session.commit_seq.take() {
                        Durability::make_durable(server, seq).await;
                    }
                    stream.write_all(&output).await?;
                    output.clear();
                    let info = {
                        let mut shared = server.exec.lock();
                        shared.clients.get_mut(&id).map(|client| {
                            client.client_type = super::client::ClientType::Replica;
                            client.replica
                        })
                    };
                    let input = std::mem::take(&mut input);
                    let info = info.unwrap_or_default();
                    return crate::replication::primary::serve(
                        server, id, signals, stream, input, request, info,
                    )
                    .await;
                }
                BatchEnd::Handover(Handover::Wait {
                    offset,
                    replicas,
                    deadline,
                }) => {
                    if !output.is_empty() {
                        stream.write_all(&output).await?;
                        output.clear();
                    }
                    let acked = loop {
                        let acked = server.feed.lock().repl.acknowledged(offset);
                        if acked >= replicas || deadline.is_some_and(|d| Instant::now() >= d) {
                            break acked;
                        }
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    };
                    Reply::Integer(acked).encode(session.protocol, &mut output);
                }
                BatchEnd::Paused(args) => {
                    // CLIENT PAUSE: replies so far go out, then this client waits for the pause
                    // to end and runs the held request.
                    if !output.is_empty() {
                        stream.write_all(&output).await?;
                        output.clear();
                    }
                    while pause_applies(server, &args) {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                    held = Some(args);
                }
            }
        }
        if input.len() as u64 > server.tunables.query_buffer_limit.load(Ordering::Relaxed) {
            tracing::warn!("Closing client that reached max query buffer length (client id {id})");
            return Ok(());
        }
        if input.is_empty() && input.capacity() > 4 * READ_BUFFER_BYTES {
            input = BytesMut::with_capacity(READ_BUFFER_BYTES);
        }
        if let Some(seq) = session.commit_seq {
            Durability::make_durable(server, seq).await;
        }
        if !output.is_empty() {
            // Nearly every reply fits the socket's buffer and leaves in one write that does not
            // wait. A client that does not read blocks the rest, and a kill (CLIENT KILL, a
            // subscriber over its output limit) must still end the connection.
            let sent = match stream.try_write(&output) {
                Ok(sent) => sent,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => 0,
                Err(e) => return Err(e),
            };
            if sent < output.len() {
                tokio::select! {
                    written = stream.write_all(&output[sent..]) => written?,
                    _ = signals.kill.notified() => return Ok(()),
                }
            }
            Stats::bump(&server.stats.net_output_bytes, output.len() as u64);
            output.clear();
        }
        if close {
            return Ok(());
        }
    }
}

/// A connection's per-command state that outlives one batch.
struct Session {
    protocol: u8,
    authenticated: bool,
    /// The latest commit a reply of this batch depends on.
    commit_seq: Option<u64>,
}

/// How a batch of requests ended.
enum BatchEnd {
    /// Every complete request ran.
    Drained,
    /// CLIENT PAUSE holds this request: run it once the pause is over.
    Paused(Vec<Bytes>),
    /// Close the connection once the replies are written.
    Close,
    /// The last request blocked the client, until this deadline (`None`: forever).
    Blocked(Option<Instant>),
    /// The connection does something else first (PSYNC, WAIT).
    Handover(Handover),
}

/// Runs the complete requests in `input` (after `held`, a request CLIENT PAUSE held back), in
/// order, encoding their replies into `output`. The execution lock is taken once for the whole
/// batch, as Redis runs a client's whole query buffer in one go: other clients wait between
/// batches, not between the commands of a pipeline or a MULTI/EXEC block. Nothing here awaits,
/// so the lock is never held across a suspension.
#[allow(clippy::too_many_arguments)]
fn run_requests(
    server: &Arc<Server>,
    id: u64,
    signals: &ClientSignals,
    session: &mut Session,
    input: &mut BytesMut,
    output: &mut BytesMut,
    push_rx: &mut mpsc::Receiver<Bytes>,
    mut held: Option<Vec<Bytes>>,
) -> BatchEnd {
    let mut guard = None;
    let received = Instant::now();
    loop {
        let args = match held.take() {
            Some(args) => args,
            None => {
                let limits = Limits {
                    max_bulk_bytes: server.tunables.proto_max_bulk_len.load(Ordering::Relaxed),
                    authenticated: session.authenticated,
                };
                match parse_command(input, limits) {
                    Ok(Some(request)) if pause_applies(server, &request.args) => {
                        return BatchEnd::Paused(request.args)
                    }
                    Ok(Some(request)) => request.args,
                    Ok(None) => return BatchEnd::Drained,
                    Err(e) => {
                        tracing::debug!("protocol error from client {id}: {e}");
                        Reply::Error(format!("ERR {e}")).encode(session.protocol, output);
                        return BatchEnd::Close;
                    }
                }
            }
        };
        let shared = guard.get_or_insert_with(|| server.exec.lock());
        let Outcome {
            reply,
            protocol,
            authenticated,
            after,
            commit_seq,
            blocked,
        } = dispatch::execute(server, shared, id, &args, input.len(), received);
        session.protocol = protocol;
        session.authenticated = authenticated;
        // Messages the command pushed to this very client (PUBLISH to oneself, keyspace
        // events of one's own writes) precede its reply, as in Redis.
        while signals.has_pushed() {
            let Ok(message) = push_rx.try_recv() else {
                break;
            };
            signals.taken(message.len());
            output.extend_from_slice(&message);
        }
        if let Some(reply) = reply {
            reply.encode(protocol, output);
        }
        session.commit_seq = commit_seq.or(session.commit_seq);
        if after.close {
            return BatchEnd::Close;
        }
        if let Some(handover) = after.handover {
            return BatchEnd::Handover(handover);
        }
        if let Some(deadline) = blocked {
            return BatchEnd::Blocked(deadline);
        }
    }
}

/// Waits while the client is blocked (BLPOP, ...) until it is served, unblocked, or its
/// `deadline` passes, and returns the answer (`None`: the connection must close; an inner
/// `None`: CLIENT REPLY silenced the answer). Meanwhile the
/// connection keeps reading, so a client that disconnects is noticed and forgotten, and pushed
/// messages still go out.
async fn wait_unblocked(
    server: &Server,
    id: u64,
    signals: &ClientSignals,
    stream: &mut TcpStream,
    input: &mut BytesMut,
    push_rx: &mut mpsc::Receiver<bytes::Bytes>,
    deadline: Option<Instant>,
) -> std::io::Result<Option<Option<Reply>>> {
    let sleep_until = deadline.map(tokio::time::Instant::from_std);
    loop {
        tokio::select! {
            _ = signals.unblocked.notified() => {}
            _ = async { tokio::time::sleep_until(sleep_until.unwrap_or_else(tokio::time::Instant::now)).await },
                if sleep_until.is_some() =>
            {
                let mut guard = server.exec.lock();
                let shared: &mut Shared = &mut guard;
                if let Some(mut client) = shared.clients.remove(&id) {
                    if let Some(reply) = client.blocked.as_ref().map(|b| b.timeout_reply.clone()) {
                        blocking::unblock(shared, &mut client, reply);
                    }
                    shared.clients.insert(id, client);
                }
            }
            read = stream.read_buf(input) => {
                match read? {
                    0 => return Ok(None),
                    n => Stats::bump(&server.stats.net_input_bytes, n as u64),
                }
                if input.len() as u64 > server.tunables.query_buffer_limit.load(Ordering::Relaxed) {
                    tracing::warn!("Closing client that reached max query buffer length (client id {id})");
                    return Ok(None);
                }
            }
            pushed = push_rx.recv() => {
                if let Some(message) = pushed {
                    signals.taken(message.len());
                    stream.write_all(&message).await?;
                }
            }
            _ = signals.kill.notified() => return Ok(None),
        }
        let mut shared = server.exec.lock();
        if let Some(client) = shared.clients.get_mut(&id) {
            if client.blocked.is_none() {
                return Ok(Some(client.unblocked_reply.take()));
            }
        }
    }
}
