# Type stubs of the native module (crates/python/src/lib.rs). Users call the functions of `spikepop`.
from typing import Any, Callable, List, Optional, Tuple

import numpy as np

def version() -> str: ...
def models() -> List[str]: ...
def read(path: str, format: Optional[str] = None, unit: Optional[str] = None) -> Tuple[List[str], List[np.ndarray], str, List[str]]: ...
def parse_train(text: str) -> np.ndarray: ...
def features_csv(ids: List[str], times: List[np.ndarray]) -> str: ...
def predict_csv(ids: List[str], times: List[np.ndarray], model_name: str, weights: Optional[str] = None, threads: Optional[int] = None, noise: Optional[float] = None) -> str: ...
def reconstruct(
    ids: List[str],
    times: List[np.ndarray],
    model_name: str,
    settings: Any,
    input: str,
    format: str,
    weights: Optional[str] = None,
    prior: Optional[str] = None,
    threads: Optional[int] = None,
    progress: Optional[Callable[[int, int], None]] = None,
) -> Tuple[bytes, bytes, bytes]: ...
def save(out: str, population: bytes, summary: bytes, run: bytes) -> None: ...
def conductances(model_name: str) -> List[str]: ...
def dics_csv(model_name: str, path: Optional[str] = None, columns: Optional[Tuple[List[str], Optional[List[str]], List[List[float]]]] = None, vth: Optional[str] = None, threads: Optional[int] = None) -> str: ...
def export(
    model_name: str,
    format: str,
    output: str,
    path: Optional[str] = None,
    columns: Optional[Tuple[List[str], Optional[List[str]], List[List[float]]]] = None,
) -> List[str]: ...
def simulate_csv(
    model_name: str,
    path: Optional[str] = None,
    columns: Optional[Tuple[List[str], Optional[List[str]], List[List[float]]]] = None,
    duration: Optional[float] = None,
    transient: Optional[float] = None,
    dt: Optional[float] = None,
    noise: float = 0.0,
    seed: int = 0,
    threads: Optional[int] = None,
) -> str: ...
def generate_csv(
    model_name: str,
    targets_path: Optional[str] = None,
    targets: Optional[List[Tuple[str, float, float, float, float]]] = None,
    n: int = 16,
    seed: int = 0,
    pair: Optional[List[str]] = None,
    vth: Optional[float] = None,
    max_attempts: int = 1000,
    threads: Optional[int] = None,
) -> str: ...
def synth(
    kind: str,
    n: int,
    seed: int,
    duration: float,
    jitter: float,
    drop: float,
    rate: Optional[float] = None,
    period: Optional[float] = None,
    spikes_per_burst: Optional[int] = None,
    intra_hz: Optional[float] = None,
) -> Tuple[List[str], List[np.ndarray]]: ...
def dataset(
    model_name: str,
    targets: int,
    output: str,
    per_target: Optional[int],
    seed: int,
    noise: float,
    duration: Optional[float],
    transient: Optional[float],
    dt: Optional[float],
    gs_range: Optional[Tuple[float, float]],
    gu_range: Optional[Tuple[float, float]],
    shard: str,
    format: str,
    resume: bool,
    group_targets: Optional[int],
    threads: Optional[int],
    progress: Optional[Callable[[int, int], None]],
) -> Tuple[str, str, int, float, List[str]]: ...
def train(
    model_name: str,
    data: List[str],
    output: str,
    val: Optional[str],
    args: Any,
    threads: Optional[int],
    progress: Optional[Callable[[int, int, str], None]],
) -> str: ...
def evaluate_csv(
    model_name: str,
    data: Optional[str] = None,
    benchmark: Optional[str] = None,
    weights: Optional[str] = None,
    baseline_data: Optional[str] = None,
    same_cells_as: Optional[str] = None,
    jitter_ms: float = 0.0,
    drop: float = 0.0,
    grid_ms: float = 0.0,
    seed: int = 0,
    copies: Optional[int] = None,
    threads: Optional[int] = None,
) -> Tuple[str, List[str]]: ...
def detect(
    path: Optional[str],
    traces: Optional[List[Tuple[str, np.ndarray, np.ndarray]]],
    threshold: float,
    hysteresis: float,
    refractory: float,
    min_slope: Optional[float],
    at: str,
    unit: Optional[str],
    channel: Optional[str] = ...,
    sweep: Optional[int] = ...,
    rate_hz: Optional[float] = ...,
) -> Tuple[List[str], List[np.ndarray], List[str]]: ...
