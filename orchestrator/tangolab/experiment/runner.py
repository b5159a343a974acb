# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
"""Running cells: one after the other, or on a Dask cluster.

Cells are independent (each boots its own guest on its own image), so they
can run anywhere the same build is: on local worker processes (a Dask
LocalCluster, --jobs N) or on an existing Dask scheduler (--scheduler
ADDRESS) whose workers run tangolab from the same checkout and build.
Under -icount a cell's result does not depend on where or when it ran.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from tangolab.errors import ExperimentError

from .cells import CellResult, CellSpec, run_cell

OnResult = Callable[[CellResult], None]


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("[bold]cells"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("left"),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )


def run_cells(
    specs: Sequence[CellSpec],
    *,
    jobs: int = 1,
    scheduler: str | None = None,
    console: Console | None = None,
    on_result: OnResult | None = None,
) -> list[CellResult]:
    """Run every spec; results in the order of `specs`."""
    con = console or Console(stderr=True)
    if jobs < 1:
        raise ExperimentError(f"--jobs {jobs}: need at least one")
    results: dict[int, CellResult] = {}

    def done(i: int, res: CellResult) -> None:
        results[i] = res
        if on_result:
            on_result(res)

    with _progress(con) as progress:
        task = progress.add_task("cells", total=len(specs))
        if jobs == 1 and scheduler is None:
            for i, spec in enumerate(specs):
                done(i, run_cell(spec))
                progress.advance(task)
        else:

            def done_one(i: int, res: CellResult) -> None:
                done(i, res)
                progress.advance(task)

            _run_dask(specs, jobs, scheduler, done_one)
    return [results[i] for i in range(len(specs))]


def _run_dask(
    specs: Sequence[CellSpec],
    jobs: int,
    scheduler: str | None,
    done: Callable[[int, CellResult], Any],
) -> None:
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError as e:  # pragma: no cover - a dependency of the package
        raise ExperimentError(f"parallel cells need dask.distributed: {e}") from None
    with ExitStack() as stack:
        if scheduler:
            try:
                client = Client(scheduler, timeout="20s")  # type: ignore[no-untyped-call]
                stack.enter_context(client)
            except OSError as e:
                raise ExperimentError(f"cannot reach the Dask scheduler {scheduler}: {e}") from None
        else:
            cluster = LocalCluster(  # type: ignore[no-untyped-call]
                n_workers=jobs,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                silence_logs=logging.CRITICAL,
            )
            stack.enter_context(cluster)
            client = stack.enter_context(Client(cluster))  # type: ignore[no-untyped-call]
        futures = {client.submit(run_cell, spec, pure=False): i for i, spec in enumerate(specs)}
        try:
            for fut in as_completed(futures):  # type: ignore[no-untyped-call]
                done(futures[fut], fut.result())
        except BaseException:
            for fut in futures:
                fut.cancel()  # type: ignore[no-untyped-call]
            raise
