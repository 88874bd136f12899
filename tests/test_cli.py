"""The command line: ``python -m sklearn_bsym``."""

from __future__ import annotations

import pytest

from sklearn_bsym.__main__ import build_parser, config_from_args, main
from sklearn_bsym.studies import FULL, QUICK

OPTIONS = [
    "--quick",
    "--full",
    "--output",
    "--n-jobs",
    "--dask",
    "--seeds",
    "--n-events",
    "--fractions",
    "--resolution",
    "--scan",
    "--no-scan",
    "--scan-resolutions",
    "--signal",
    "--background",
    "--models",
    "--epochs",
    "--preset",
    "--random-state",
    "--no-progress",
    "--no-plots",
]


def test_help_explains_every_option(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for option in OPTIONS:
        assert option in text, option
    assert "resume" in text


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ([], QUICK),
        (["--quick"], QUICK),
        (["--full"], FULL),
    ],
)
def test_protocols(argv, expected):
    assert config_from_args(build_parser().parse_args(argv)) == expected


def test_options_reach_the_config():
    args = build_parser().parse_args(
        [
            "--full",
            "--seeds", "2",
            "--n-events", "3000",
            "--fractions", "0.5", "1",
            "--resolution", "0.05",
            "--no-scan",
            "--models", "hybrid", "hgb", "hybrid",
            "--epochs", "4",
            "--preset", "fast",
            "--random-state", "7",
        ]
    )  # fmt: skip
    config = config_from_args(args)
    assert config.n_seeds == 2 and config.n_events == 3000
    assert config.fractions == (0.5, 1.0) and config.resolution == 0.05
    assert config.scan_resolutions == ()
    assert config.models == ("hybrid", "hgb")
    assert config.max_epochs == 4 and config.preset == "fast" and config.random_state == 7


def test_user_files_default_to_all_events(tmp_path):
    args = build_parser().parse_args(["--signal", "s.csv", "--background", "b.csv"])
    config = config_from_args(args)
    assert config.n_events is None and not config.uses_generator


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--fractions", "0", "1"], "must lie in"),
        (["--signal", "s.lhe"], "both --signal and --background"),
        (["--models", "mlp"], "invalid choice"),
    ],
)
def test_bad_options_exit_with_a_message(capsys, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_tiny_run_prints_the_table(tmp_path, capsys):
    argv = [
        "--n-events", "600",
        "--fractions", "1",
        "--seeds", "1",
        "--models", "hgb",
        "--no-scan",
        "--no-progress",
        "--no-plots",
        "--output", str(tmp_path),
    ]  # fmt: skip
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "### Test AUC against training fraction" in out
    assert "| hgb |" in out
    (folder,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    assert (folder / "results.csv").is_file() and (folder / "summary.md").is_file()
    assert str(folder) in out


def test_missing_user_file_is_an_error(tmp_path, capsys):
    argv = ["--signal", str(tmp_path / "s.lhe"), "--background", str(tmp_path / "b.lhe")]
    assert main([*argv, "--output", str(tmp_path)]) == 2
    assert "does not exist" in capsys.readouterr().err
