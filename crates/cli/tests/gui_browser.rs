//! `spikepop gui` in a real browser: headless Chromium driven through chromedriver (WebDriver).
//!
//! Needs Chromium and its driver (Debian/Ubuntu: `apt-get install chromium chromium-driver`; `.ci/run`
//! installs them). Without chromedriver the tests fail, saying so: they never pass silently.
//! `SPIKEPOP_CHROMEDRIVER=/path/to/chromedriver` overrides the driver, `SPIKEPOP_CHROME=/path/to/chrome`
//! the browser, and `SPIKEPOP_SCREENSHOT=docs/gui.png` saves a screenshot of the results page there.

use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_spikepop");

/// A child process that is stopped when the test ends, however it ends.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn repo_file(rel: &str) -> PathBuf {
    Path::new(&std::env::var("CARGO_MANIFEST_DIR").unwrap())
        .join("../..")
        .join(rel)
}

/// chromedriver: `SPIKEPOP_CHROMEDRIVER`, else on PATH, else Debian's `/usr/bin/chromedriver`.
fn chromedriver() -> PathBuf {
    if let Some(p) = std::env::var_os("SPIKEPOP_CHROMEDRIVER") {
        return PathBuf::from(p);
    }
    let on_path = std::env::var_os("PATH")
        .map(|paths| {
            std::env::split_paths(&paths)
                .map(|d| d.join("chromedriver"))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    on_path
        .into_iter()
        .chain([PathBuf::from("/usr/bin/chromedriver")])
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "chromedriver was not found (PATH, /usr/bin/chromedriver): the browser tests of `spikepop gui` \
                 need Chromium and its WebDriver. Install them (Debian/Ubuntu: `apt-get install chromium \
                 chromium-driver`; .ci/run does this) or set SPIKEPOP_CHROMEDRIVER."
            )
        })
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// Starts chromedriver on a free port and waits until it accepts connections; returns it and its URL.
fn start_chromedriver() -> (Process, String) {
    let driver = chromedriver();
    let port = free_port();
    let child = Command::new(&driver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", driver.display()));
    let process = Process(child);
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "{} did not start listening within 30 s",
            driver.display()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    (process, format!("http://127.0.0.1:{port}"))
}

/// Starts `spikepop gui --no-browser --port 0 [extra]` and reads the page's address from its first line.
fn start_gui(extra: &[&str]) -> (Process, String) {
    let mut child = Command::new(BIN)
        .args(["gui", "--no-browser", "--port", "0"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spikepop gui starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let process = Process(child);
    let (tx, rx) = mpsc::channel();
    // Keeps reading (and discarding) the server's output so it never blocks on a full pipe.
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(url) = line.split_whitespace().find(|w| w.starts_with("http://")) {
                let _ = tx.send(url.to_string());
            }
        }
    });
    let url = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("spikepop gui prints its address on stdout");
    assert!(
        url.starts_with("http://127.0.0.1:"),
        "bound to loopback only: {url}"
    );
    (process, url)
}

/// A headless Chromium session.
async fn browser(driver_url: &str) -> Client {
    let mut options = json!({
        "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--window-size=1500,1900"],
    });
    let binary = std::env::var("SPIKEPOP_CHROME").ok().or_else(|| {
        Path::new("/usr/bin/chromium")
            .is_file()
            .then(|| "/usr/bin/chromium".into())
    });
    if let Some(b) = binary {
        options["binary"] = json!(b);
    }
    let mut caps = serde_json::Map::new();
    caps.insert("goog:chromeOptions".into(), options);
    ClientBuilder::rustls()
        .expect("TLS set-up of the WebDriver client")
        .capabilities(caps)
        .connect(driver_url)
        .await
        .expect("a Chromium session through chromedriver")
}

/// Waits until `check` gives `Some`, polling every 100 ms; fails with `what` after `timeout`.
async fn wait_for<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The text of the element at `css` once it is displayed and `pred` holds for it.
async fn wait_text(
    c: &Client,
    css: &str,
    timeout: Duration,
    pred: impl Fn(&str) -> bool,
) -> String {
    wait_for(css, timeout, || async {
        let el = c.find(Locator::Css(css)).await.ok()?;
        if !el.is_displayed().await.ok()? {
            return None;
        }
        let text = el.text().await.ok()?;
        pred(&text).then_some(text)
    })
    .await
}

async fn set_value(c: &Client, css: &str, value: &str) {
    let el: Element = c.find(Locator::Css(css)).await.expect(css);
    el.clear().await.expect("clear");
    el.send_keys(value).await.expect("type");
}

/// Fetches `href` from the page (same origin) and returns the body as text.
async fn fetch_in_page(c: &Client, href: &str) -> String {
    let body = c
        .execute_async(
            "const [href, done] = arguments; fetch(href).then(r => r.text()).then(done, e => done('ERROR ' + e));",
            vec![json!(href)],
        )
        .await
        .expect("fetch from the page");
    body.as_str().expect("text").to_string()
}

/// Clicks the element with this id.
async fn click(c: &Client, id: &str) {
    c.find(Locator::Id(id))
        .await
        .expect(id)
        .click()
        .await
        .expect("click");
}

/// Loads `path` through the page's file picker.
async fn pick_file(c: &Client, path: &Path) {
    let input = c.find(Locator::Id("file")).await.expect("the file input");
    input
        .send_keys(
            &path
                .canonicalize()
                .expect("the file exists")
                .display()
                .to_string(),
        )
        .await
        .expect("choose the file");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_goes_from_a_spike_file_to_the_command_lines_population() {
    let (_driver, driver_url) = start_chromedriver();
    let (_gui, url) = start_gui(&[]);
    let c = browser(&driver_url).await;

    c.goto(&url).await.expect("the page opens");
    pick_file(&c, &repo_file("examples/stg_set.csv")).await;
    let summary = wait_text(&c, "#preview-summary", Duration::from_secs(30), |t| {
        !t.is_empty()
    })
    .await;
    assert!(
        summary.starts_with("stg_set.csv: 5 recordings (reference format)"),
        "{summary}"
    );
    let preview_rows = c
        .find_all(Locator::Css("#preview-table tbody tr"))
        .await
        .unwrap();
    assert_eq!(preview_rows.len(), 5);
    wait_for("the preview raster", Duration::from_secs(30), || async {
        c.find(Locator::Css("#preview-raster svg")).await.ok()
    })
    .await;

    set_value(&c, "#n", "10").await;
    set_value(&c, "#seed", "3").await;
    click(&c, "run").await;
    wait_text(&c, "#run-status", Duration::from_secs(300), |t| {
        t.starts_with("Done")
    })
    .await;
    let rows = wait_for("5 result rows", Duration::from_secs(30), || async {
        let rows = c
            .find_all(Locator::Css("#results-table tbody tr"))
            .await
            .ok()?;
        (rows.len() == 5).then_some(rows)
    })
    .await;
    let second = rows[1].text().await.unwrap();
    assert!(
        second.starts_with('2') && second.contains("bursting"),
        "{second}"
    );

    // One recording's plots.
    rows[1].click().await.unwrap();
    wait_text(&c, "#detail-title", Duration::from_secs(30), |t| {
        t.starts_with("Recording 2")
    })
    .await;
    for fig in ["fig-raster", "fig-dic", "fig-conductances", "fig-traces"] {
        let svg = wait_for(fig, Duration::from_secs(60), || async {
            let el = c
                .find(Locator::Css(&format!("#{fig} .svg-holder svg")))
                .await
                .ok()?;
            el.attr("width").await.ok().flatten()
        })
        .await;
        assert_eq!(svg, "760", "{fig}");
    }
    let dic = c
        .find(Locator::Css("#fig-dic .svg-holder"))
        .await
        .unwrap()
        .prop("innerHTML")
        .await
        .unwrap()
        .unwrap_or_default();
    assert!(
        dic.contains("prediction: 1 and 2 sd") && dic.contains("population (10)"),
        "{dic}"
    );

    if let Some(path) = std::env::var_os("SPIKEPOP_SCREENSHOT") {
        c.execute(
            "document.getElementById('results-section').scrollIntoView()",
            vec![],
        )
        .await
        .unwrap();
        let png = c.screenshot().await.expect("a screenshot");
        let path = repo_file("").join(path);
        std::fs::write(&path, png).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }

    // The downloads are the command line's files, byte for byte.
    let out = tempfile::tempdir().unwrap();
    let status = Command::new(BIN)
        .args(["reconstruct", "--model", "stg", "--input"])
        .arg(repo_file("examples/stg_set.csv"))
        .args([
            "-n",
            "10",
            "--seed",
            "3",
            "--export",
            "neuron,brian2,neuroml",
            "-o",
        ])
        .arg(out.path().join("rec"))
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    for (link, file) in [
        ("export-population", "population.csv"),
        ("export-summary", "summary.csv"),
    ] {
        let href = c
            .find(Locator::Id(link))
            .await
            .unwrap()
            .attr("href")
            .await
            .unwrap()
            .expect("an export link");
        let downloaded = fetch_in_page(&c, &href).await;
        let expected = std::fs::read_to_string(out.path().join("rec").join(file)).unwrap();
        assert_eq!(
            downloaded, expected,
            "{file} from the page differs from spikepop reconstruct's"
        );
    }
    // The population for NEURON, Brian2 and NeuroML: a zip whose run.py is the command line's `--export`,
    // stored as is.
    for format in ["neuron", "brian2", "neuroml"] {
        let link = c
            .find(Locator::Id(&format!("export-{format}")))
            .await
            .unwrap();
        assert!(link.is_displayed().await.unwrap(), "{format}");
        let href = link.attr("href").await.unwrap().expect("an export link");
        assert!(
            href.ends_with(&format!("/api/export/{format}.zip")),
            "{href}"
        );
        let zip = fetch_in_page(&c, &href).await;
        let script =
            std::fs::read_to_string(out.path().join("rec").join(format).join("run.py")).unwrap();
        assert!(
            zip.starts_with("PK") && zip.contains(&script),
            "{format}.zip from the page lacks the command line's run.py"
        );
    }
    let traces = fetch_in_page(
        &c,
        &c.find(Locator::Id("export-traces"))
            .await
            .unwrap()
            .attr("href")
            .await
            .unwrap()
            .unwrap(),
    )
    .await;
    assert!(
        traces.starts_with("t_ms,model_"),
        "{}",
        &traces[..traces.len().min(200)]
    );
    c.close().await.unwrap();
}

/// The spikes that `spikepop detect` finds in `recording` at `threshold` mV.
fn cli_spike_count(recording: &Path, threshold: &str) -> usize {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("spikes.csv");
    let status = Command::new(BIN)
        .args(["detect", "--input"])
        .arg(recording)
        .args(["--threshold", threshold, "-o"])
        .arg(&out)
        .status()
        .expect("spikepop detect runs");
    assert!(status.success());
    let csv = std::fs::read_to_string(&out).unwrap();
    csv.lines()
        .skip(1)
        .map(|row| {
            let list = row.split_once(",\"[").map(|(_, l)| l).unwrap_or("");
            list.trim_end_matches("]\"")
                .split(',')
                .filter(|x| !x.trim().is_empty())
                .count()
        })
        .sum()
}

/// Types a threshold into the preview's control and asks for the spikes to be detected again.
async fn move_threshold(c: &Client, mv: &str) {
    set_value(c, "#threshold-value", mv).await;
    click(c, "detect-again").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_checks_and_moves_the_spike_threshold_of_a_voltage_recording() {
    let recording = repo_file("examples/stg_recording.abf");
    let at_zero = cli_spike_count(&recording, "0");
    let at_minus_40 = cli_spike_count(&recording, "-40");
    assert!(at_zero > 0);
    let (_driver, driver_url) = start_chromedriver();
    let (_gui, url) = start_gui(&[]);
    let c = browser(&driver_url).await;
    c.goto(&url).await.expect("the page opens");

    // The threshold under Reading options applies to the first detection.
    c.find(Locator::Css("details summary"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    set_value(&c, "#threshold", "-40").await;
    pick_file(&c, &recording).await;
    let summary = wait_text(&c, "#preview-summary", Duration::from_secs(30), |t| {
        !t.is_empty()
    })
    .await;
    assert!(
        summary.contains(&format!("(trace format), {at_minus_40} spikes")),
        "{summary}, the command line finds {at_minus_40}"
    );
    // The trace is drawn with a red mark per detected spike, and the control shows the threshold.
    wait_text(&c, "#threshold-control", Duration::from_secs(10), |_| true).await;
    let value = c.find(Locator::Id("threshold-value")).await.unwrap();
    assert_eq!(value.prop("value").await.unwrap().as_deref(), Some("-40"));
    let marks = wait_for(
        "the trace with its spikes",
        Duration::from_secs(30),
        || async {
            let svg = c.find(Locator::Css("#preview-raster svg")).await.ok()?;
            let html = svg.html(false).await.ok()?;
            html.contains("spikes at -40 mV")
                .then(|| html.matches("<polygon").count())
        },
    )
    .await;
    assert!(marks >= at_minus_40.min(3), "{marks} marks");

    // Moved to 0 mV: detected again, as the command line detects them.
    move_threshold(&c, "0").await;
    let summary = wait_text(&c, "#preview-summary", Duration::from_secs(30), |t| {
        t.contains(&format!("(trace format), {at_zero} spikes"))
    })
    .await;
    assert!(summary.starts_with("stg_recording.abf"), "{summary}");
    wait_for(
        "the trace redrawn at 0 mV",
        Duration::from_secs(30),
        || async {
            let svg = c.find(Locator::Css("#preview-raster svg")).await.ok()?;
            svg.html(false)
                .await
                .ok()?
                .contains("spikes at 0 mV")
                .then_some(())
        },
    )
    .await;

    // Above every sample: nothing crosses, and the page says what to try.
    move_threshold(&c, "500").await;
    let warning = wait_text(&c, "#preview-warnings", Duration::from_secs(30), |t| {
        t.contains("a threshold to try")
    })
    .await;
    assert!(
        warning.contains("no upward crossing of 500 mV"),
        "{warning}"
    );
    // A threshold that is not a number is refused in the page.
    move_threshold(&c, "high").await;
    wait_text(&c, "#detect-error", Duration::from_secs(10), |t| {
        t.contains("not a voltage in mV")
    })
    .await;
    // Ends the browser session: stopping chromedriver alone leaves its Chromium running.
    c.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_file_is_explained_in_the_page() {
    let (_driver, driver_url) = start_chromedriver();
    let (_gui, url) = start_gui(&["--max-upload-mb", "1"]);
    let c = browser(&driver_url).await;
    c.goto(&url).await.expect("the page opens");

    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.csv");
    std::fs::write(
        &broken,
        "ID,spiking_times\n1,\"[10, 20, 30]\"\n2,\"[15, oops, 40]\"\n",
    )
    .unwrap();
    pick_file(&c, &broken).await;
    let error = wait_text(&c, "#load-error", Duration::from_secs(30), |t| {
        !t.is_empty()
    })
    .await;
    assert!(
        error.contains("broken.csv could not be loaded") && error.contains("row 2 (line 3)"),
        "{error}"
    );
    assert!(
        !error.contains("spikepop-gui-"),
        "the message names the user's file, not a temporary one: {error}"
    );
    assert!(
        !c.find(Locator::Id("preview"))
            .await
            .unwrap()
            .is_displayed()
            .await
            .unwrap()
    );
    assert!(
        c.find(Locator::Id("run"))
            .await
            .unwrap()
            .prop("disabled")
            .await
            .unwrap()
            .is_some_and(|d| d == "true")
    );

    let unknown = dir.path().join("notes.xyz");
    std::fs::write(&unknown, "1 2 3\n").unwrap();
    pick_file(&c, &unknown).await;
    wait_text(&c, "#load-error", Duration::from_secs(30), |t| {
        t.contains("notes.xyz") && t.contains("unknown extension .xyz")
    })
    .await;

    // Over the upload limit (1 MB here): refused with the flag to raise it, and the server lives on.
    let big = dir.path().join("big.txt");
    std::fs::write(&big, "1 2 3\n".repeat(400_000)).unwrap();
    pick_file(&c, &big).await;
    wait_text(&c, "#load-error", Duration::from_secs(30), |t| {
        t.contains("big.txt") && t.contains("--max-upload-mb")
    })
    .await;
    pick_file(&c, &repo_file("examples/stg_set.csv")).await;
    wait_text(&c, "#preview-summary", Duration::from_secs(30), |t| {
        t.contains("5 recordings")
    })
    .await;
    assert!(
        !c.find(Locator::Id("load-error"))
            .await
            .unwrap()
            .is_displayed()
            .await
            .unwrap()
    );
    c.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_brings_a_model_file_and_its_weights() {
    let (_driver, driver_url) = start_chromedriver();
    let (_gui, url) = start_gui(&[]);
    let c = browser(&driver_url).await;
    c.goto(&url).await.expect("the page opens");
    // The model list is the registry's.
    let options: Vec<String> = {
        let mut v = Vec::new();
        for o in c.find_all(Locator::Css("#model option")).await.unwrap() {
            v.push(o.prop("value").await.unwrap().unwrap_or_default());
        }
        v
    };
    assert_eq!(options, ["stg", "da"]);
    let choose = |id: &'static str, path: std::path::PathBuf| {
        let c = c.clone();
        async move {
            c.find(Locator::Id(id))
                .await
                .expect(id)
                .send_keys(&path.canonicalize().unwrap().display().to_string())
                .await
                .expect("choose the file");
        }
    };
    // Weights of another model: refused in the page, with the reason.
    let dir = tempfile::tempdir().unwrap();
    let stg = dir.path().join("my_stg.toml");
    std::fs::write(
        &stg,
        spikepop_models::registry::built_in_file("stg").unwrap(),
    )
    .unwrap();
    choose("model-file", stg).await;
    choose(
        "weights-file",
        repo_file("examples/models/ca1_golomb2006.safetensors"),
    )
    .await;
    click(&c, "model-upload").await;
    wait_text(&c, "#model-error", Duration::from_secs(30), |t| {
        t.contains("my_stg.toml could not be used")
            && t.contains("trained for the ca1 model, not stg")
    })
    .await;
    // The model file that goes with them: offered and selected.
    choose(
        "model-file",
        repo_file("examples/models/ca1_golomb2006.toml"),
    )
    .await;
    click(&c, "model-upload").await;
    wait_for(
        "the uploaded model selected",
        Duration::from_secs(30),
        || async {
            let value = c
                .find(Locator::Id("model"))
                .await
                .ok()?
                .prop("value")
                .await
                .ok()??;
            (value == "uploaded").then_some(())
        },
    )
    .await;
    let label = wait_text(
        &c,
        "#model option[value=uploaded]",
        Duration::from_secs(5),
        |t| !t.is_empty(),
    )
    .await;
    assert!(
        label.starts_with("ca1 (") && label.contains("from ca1_golomb2006.toml"),
        "{label}"
    );
    c.close().await.unwrap();
}
