//! The chat journey from a terminal: the real `qiao` binary against a real server.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Output};

use qiao_server::{Application, Config};

async fn server() -> (String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.path().join("data"),
        argon2_memory_kib: 1024,
        argon2_iterations: 1,
        ..Config::default()
    };
    let app = Application::build(config).await.unwrap();
    let url = format!("http://{}", app.local_addr().unwrap());
    tokio::spawn(app.run());
    (url, dir)
}

fn qiao(server: &str, profile: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_qiao"))
        .args(["--server", server, "--profile"])
        .arg(profile)
        .args(args)
        .output()
        .unwrap()
}

/// Runs a command that must succeed; returns its standard output.
async fn ok(server: &str, profile: &Path, args: &[&str]) -> String {
    let (server, profile) = (server.to_owned(), profile.to_owned());
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let output = tokio::task::spawn_blocking(move || {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        qiao(&server, &profile, &refs)
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "stdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// The last one-time code the server's sandbox outbox sent to `to`.
fn last_code(data_dir: &Path, to: &str) -> String {
    let outbox = std::fs::read_to_string(data_dir.join("outbox.jsonl")).unwrap();
    let body = outbox
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap())
        .rfind(|m| m["to"] == to)
        .unwrap()["body"]
        .as_str()
        .unwrap()
        .to_owned();
    body.split(|c: char| !c.is_ascii_digit())
        .find(|part| part.len() == 6)
        .unwrap()
        .to_owned()
}

fn first_number_after(text: &str, marker: &str) -> i64 {
    let rest = &text[text
        .find(marker)
        .unwrap_or_else(|| panic!("{marker:?} not in {text:?}"))
        + marker.len()..];
    rest.trim_start()
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_chat_journey_from_a_terminal() {
    let (url, dir) = server().await;
    let lin = dir.path().join("lin.json");
    let emily = dir.path().join("emily.json");

    ok(
        &url,
        &lin,
        &[
            "register",
            "--phone",
            "+8613800000001",
            "--password",
            "secret123",
            "--name",
            "Lin",
        ],
    )
    .await;
    ok(
        &url,
        &emily,
        &[
            "register",
            "--phone",
            "+15550000002",
            "--password",
            "secret456",
            "--name",
            "Emily",
            "--region",
            "US",
        ],
    )
    .await;
    // A phone counts once proven with the code sent to it (the sandbox outbox has it).
    let code = last_code(&dir.path().join("data"), "+15550000002");
    let verified = ok(&url, &emily, &["verify", "phone", &code]).await;
    assert!(verified.contains("+15550000002"), "{verified}");
    ok(&url, &emily, &["set-id", "emily_nyc"]).await;
    assert!(ok(&url, &emily, &["whoami"]).await.contains("emily_nyc"));

    let sent = ok(&url, &lin, &["add", "emily_nyc", "--greeting", "我是林"]).await;
    let request = first_number_after(&sent, "friend request");
    let requests = ok(&url, &emily, &["requests"]).await;
    assert!(requests.contains("我是林"), "{requests}");
    let accepted = ok(&url, &emily, &["accept", &request.to_string()]).await;
    let conversation = first_number_after(&accepted, "conversation");

    ok(
        &url,
        &lin,
        &["send", &conversation.to_string(), "hello from the terminal"],
    )
    .await;
    let watched = ok(&url, &emily, &["watch", &conversation.to_string(), "--count", "1"]).await;
    assert!(watched.contains("hello from the terminal"), "{watched}");
    let history = ok(&url, &lin, &["history", &conversation.to_string()]).await;
    assert!(
        history.contains("#1") && history.contains("hello from the terminal"),
        "{history}"
    );
    assert!(ok(&url, &emily, &["chats"]).await.contains("Lin"));

    // Errors come back readable, with their stable code, and fail the command.
    let wrong = tokio::task::spawn_blocking({
        let (url, lin) = (url.clone(), lin.clone());
        move || qiao(&url, &lin, &["send", "999999", "nobody there"])
    })
    .await
    .unwrap();
    assert!(!wrong.status.success());
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("conversation_not_found"));

    // The wallet: bind a sandbox debit card, top up, see the balance.
    let bound = ok(
        &url,
        &lin,
        &["bind-card", "6212 3456 7890 1265", "--password", "secret123"],
    )
    .await;
    let card = first_number_after(&bound, "bound card");
    let topped = ok(&url, &lin, &["top-up", &card.to_string(), "100.50"]).await;
    assert!(topped.contains("balance 100.50 CNY"), "{topped}");
    let wallet = ok(&url, &lin, &["wallet"]).await;
    assert!(wallet.contains("CNY 100.50") && wallet.contains("1265"), "{wallet}");

    // Money in the chat: a PIN, a transfer Emily accepts, a red packet she opens.
    ok(&url, &lin, &["set-pin", "135790", "--password", "secret123"]).await;
    let sent = ok(
        &url,
        &lin,
        &[
            "transfer",
            &conversation.to_string(),
            "10.00",
            "--note",
            "午饭",
            "--pin",
            "135790",
        ],
    )
    .await;
    assert!(sent.contains("10.00 CNY (pending)"), "{sent}");
    let transfer = first_number_after(&sent, "transfer");
    let history = ok(&url, &emily, &["history", &conversation.to_string()]).await;
    assert!(history.contains(&format!("[transfer {transfer}] 午饭")), "{history}");
    let accepted = ok(&url, &emily, &["accept-transfer", &transfer.to_string()]).await;
    assert!(accepted.contains("(accepted)"), "{accepted}");
    // Emily's wallet holds dollars: ¥10 less the 1% fee, at 7.1 less the spread.
    let wallet = ok(&url, &emily, &["wallet"]).await;
    assert!(wallet.contains("USD 1.38"), "{wallet}");
    let packet = ok(
        &url,
        &lin,
        &["red-packet", &conversation.to_string(), "8.88", "--pin", "135790"],
    )
    .await;
    let packet = first_number_after(&packet, "red_packet");
    let opened = ok(&url, &emily, &["open", &packet.to_string()]).await;
    assert!(opened.contains("you got 1.23 USD"), "{opened}");
    let statement = ok(&url, &lin, &["statement"]).await;
    assert!(
        statement.contains("transfer") && statement.contains("-10.00 CNY") && statement.contains("+100.50 CNY"),
        "{statement}"
    );
    let transfer_entry: i64 = statement
        .lines()
        .find(|l| l.contains("transfer"))
        .and_then(|l| l.split('\t').next())
        .and_then(|id| id.parse().ok())
        .unwrap();
    let entry = ok(&url, &lin, &["entry", &transfer_entry.to_string()]).await;
    assert!(
        entry.contains("-10.00 CNY\tposted\twallet") && entry.contains(&format!("transfer {transfer} in conversation")),
        "{entry}"
    );
    let csv = dir.path().join("statement.csv");
    ok(&url, &lin, &["statement", "--csv", csv.to_str().unwrap()]).await;
    let csv = std::fs::read_to_string(csv).unwrap();
    assert!(
        csv.contains(",red_packet,") && csv.contains(",-8.88,CNY,posted,wallet"),
        "{csv}"
    );
    let withdrawn = ok(&url, &lin, &["withdraw", &card.to_string(), "1.62", "--pin", "135790"]).await;
    assert!(withdrawn.contains("balance 80.00 CNY"), "{withdrawn}");

    // Messages show their id (what recall takes), the sender's name and a local time.
    let sent = ok(&url, &lin, &["send", &conversation.to_string(), "oops"]).await;
    let message = first_number_after(&sent, "(message");
    let history = ok(&url, &emily, &["history", &conversation.to_string()]).await;
    let line = history.lines().find(|l| l.contains("oops")).unwrap().to_owned();
    assert!(
        line.contains(&format!("[message {message}]")) && line.contains("Lin: oops"),
        "{line}"
    );
    let now = chrono::Local::now().format("%Y-%m-%d").to_string();
    assert!(line.contains(&now), "a local date: {line}");
    assert!(ok(&url, &lin, &["history", &conversation.to_string()])
        .await
        .contains("me: oops"));
    assert!(ok(&url, &lin, &["recall", &message.to_string()])
        .await
        .contains("recalled"));
    // The client's own texts follow --lang.
    let zh = ok(&url, &lin, &["--lang", "zh-CN", "wallet"]).await;
    assert!(zh.contains("可用") && zh.contains("银行卡"), "{zh}");

    // The sign-in is readable only by its owner.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&lin).unwrap().permissions().mode() & 0o777, 0o600);
    }

    // Safe to retry: a top-up that got no answer keeps its key, and running
    // the same command again retries that top-up instead of making a second.
    let saved = std::fs::read_to_string(&lin).unwrap();
    let dead = saved.replace(&url, "http://127.0.0.1:9");
    std::fs::write(&lin, &dead).unwrap();
    let unanswered = tokio::task::spawn_blocking({
        let (url, lin) = (url.clone(), lin.clone());
        move || qiao(&url, &lin, &["top-up", &card.to_string(), "5.00"])
    })
    .await
    .unwrap();
    assert!(!unanswered.status.success());
    assert!(dir.path().join("lin.json.pending").exists(), "the key is kept");
    std::fs::write(&lin, &saved).unwrap();
    let retried = tokio::task::spawn_blocking({
        let (url, lin) = (url.clone(), lin.clone());
        move || qiao(&url, &lin, &["top-up", &card.to_string(), "5.00"])
    })
    .await
    .unwrap();
    assert!(retried.status.success());
    assert!(
        String::from_utf8_lossy(&retried.stderr).contains("retrying"),
        "{retried:?}"
    );
    assert!(String::from_utf8_lossy(&retried.stdout).contains("balance 85.00 CNY"));
    assert!(
        !dir.path().join("lin.json.pending").exists(),
        "answered: the key is spent"
    );
    let again = ok(&url, &lin, &["top-up", &card.to_string(), "5.00"]).await;
    assert!(
        again.contains("balance 90.00 CNY"),
        "a new run is a new top-up: {again}"
    );
    // Without a PIN and without a terminal to ask on, a payment says what to give.
    let no_pin = tokio::task::spawn_blocking({
        let (url, lin) = (url.clone(), lin.clone());
        move || qiao(&url, &lin, &["withdraw", &card.to_string(), "1.00"])
    })
    .await
    .unwrap();
    assert!(String::from_utf8_lossy(&no_pin.stderr).contains("--pin"), "{no_pin:?}");

    ok(&url, &lin, &["logout"]).await;
    let after = tokio::task::spawn_blocking(move || qiao(&url, &lin, &["whoami"]))
        .await
        .unwrap();
    assert!(!after.status.success(), "signed out");
}

/// The tourist and the restaurant, each at a terminal: a merchant and its
/// order code, paying it by its text and by a photo of it (across
/// currencies), a refund, the report and CSV, and a payment code the cashier
/// charges and the payer confirms.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_merchant_journey_from_a_terminal() {
    let (url, dir) = server().await;
    let data = dir.path().join("data");
    let (emily, lin) = (dir.path().join("emily.json"), dir.path().join("lin.json"));
    for (profile, phone, password, name, region) in [
        (&emily, "+15550000011", "secret456", "Emily", "US"),
        (&lin, "+8613800000012", "secret123", "Lin", "CN"),
    ] {
        ok(
            &url,
            profile,
            &[
                "register",
                "--phone",
                phone,
                "--password",
                password,
                "--name",
                name,
                "--region",
                region,
            ],
        )
        .await;
        ok(&url, profile, &["verify", "phone", &last_code(&data, phone)]).await;
    }
    let bound = ok(
        &url,
        &emily,
        &["bind-card", "4242424242424242", "--password", "secret456"],
    )
    .await;
    let card = first_number_after(&bound, "bound card");
    let created = ok(
        &url,
        &emily,
        &[
            "merchant",
            "create",
            "--name",
            "Lucky Noodle",
            "--legal-name",
            "Lucky Noodle LLC",
            "--country",
            "US",
            "--city",
            "Las Vegas",
            "--mcc",
            "5812",
            "--currency",
            "USD",
            "--card",
            &card.to_string(),
        ],
    )
    .await;
    assert!(created.contains("signing secret (shown once): whsec_"), "{created}");
    let merchant = first_number_after(&created, "merchant").to_string();
    let png = dir.path().join("order.png");
    let order = ok(
        &url,
        &emily,
        &[
            "merchant",
            "order",
            &merchant,
            "12.50",
            "--number",
            "T-1",
            "--description",
            "Noodles",
            "--png",
            png.to_str().unwrap(),
        ],
    )
    .await;
    let payload = order
        .lines()
        .find_map(|l| l.strip_prefix("code to show the customer: "))
        .unwrap()
        .to_owned();
    assert!(png.exists());

    let bound = ok(
        &url,
        &lin,
        &["bind-card", "6212 3456 7890 1265", "--password", "secret123"],
    )
    .await;
    let lin_card = first_number_after(&bound, "bound card");
    ok(&url, &lin, &["top-up", &lin_card.to_string(), "500.00"]).await;
    ok(&url, &lin, &["set-pin", "135790", "--password", "secret123"]).await;
    let paid = ok(&url, &lin, &["pay", &payload, "--pin", "135790", "--yes"]).await;
    assert!(
        paid.contains("Lucky Noodle, Las Vegas US") && paid.contains("to pay: 12.50 USD"),
        "{paid}"
    );
    assert!(
        paid.contains("paid 12.50 USD to Lucky Noodle (paid)") && paid.contains("CNY"),
        "{paid}"
    );
    // The second order is paid from a photo of its code.
    ok(
        &url,
        &emily,
        &[
            "merchant",
            "order",
            &merchant,
            "3.00",
            "--number",
            "T-2",
            "--description",
            "Tea",
            "--png",
            png.to_str().unwrap(),
        ],
    )
    .await;
    let paid = ok(
        &url,
        &lin,
        &["pay", "--image", png.to_str().unwrap(), "--pin", "135790", "--yes"],
    )
    .await;
    assert!(paid.contains("paid 3.00 USD"), "{paid}");

    let orders = ok(&url, &emily, &["merchant", "orders", &merchant]).await;
    let first = orders.lines().find(|l| l.contains("T-1")).unwrap();
    let first_id = first_number_after(first, "order");
    let refunded = ok(
        &url,
        &emily,
        &[
            "merchant",
            "refund",
            &merchant,
            &first_id.to_string(),
            "6.25",
            "--number",
            "R-1",
        ],
    )
    .await;
    assert!(
        refunded.contains("refunded 6.25 USD") && refunded.contains("partially_refunded"),
        "{refunded}"
    );
    let report = ok(&url, &emily, &["merchant", "report", &merchant]).await;
    assert!(
        report.contains("2 payments, 15.50 USD paid, 6.25 USD refunded, net 9.25 USD"),
        "{report}"
    );
    let csv = dir.path().join("orders.csv");
    ok(&url, &emily, &["merchant", "csv", &merchant, csv.to_str().unwrap()]).await;
    let csv = std::fs::read_to_string(csv).unwrap();
    assert!(
        csv.starts_with("order_id,out_trade_no") && csv.contains(",T-1,") && csv.contains(",T-2,"),
        "{csv}"
    );

    // A payment code: the cashier charges it; above the no-PIN limit, Lin confirms.
    let code = ok(&url, &lin, &["payment-code"]).await;
    let digits = first_number_after(&code, "payment code").to_string();
    assert_eq!(digits.len(), 18, "{code}");
    let charged = ok(
        &url,
        &emily,
        &[
            "merchant",
            "charge",
            &merchant,
            &digits,
            "1.00",
            "--number",
            "C-1",
            "--description",
            "Gum",
        ],
    )
    .await;
    assert!(charged.contains("awaiting_confirmation"), "{charged}");
    let waiting = first_number_after(&charged, "order");
    let confirmed = ok(
        &url,
        &lin,
        &["confirm-payment", &waiting.to_string(), "--pin", "135790"],
    )
    .await;
    assert!(
        confirmed.contains("paid 1.00 USD to Lucky Noodle (paid)"),
        "{confirmed}"
    );
}
