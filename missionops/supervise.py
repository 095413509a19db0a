"""`make run`: every Procfile process under supervisord, which restarts any that exits (honcho
stops everything when one process dies). The Procfile stays the one list of processes.

    python -m missionops.supervise [Procfile]   (Ctrl-C stops them all)
"""

import os
import re
import shlex
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def read_procfile(path: Path) -> list[tuple[str, str]]:
    processes = []
    for line in path.read_text().splitlines():
        match = re.fullmatch(r"([A-Za-z0-9_-]+):\s*(.+)", line.strip())
        if match and not line.lstrip().startswith("#"):
            processes.append((match[1], match[2]))
    return processes


def supervisord_conf(processes: list[tuple[str, str]], *, run_dir: Path, startsecs: int = 3) -> str:
    """A supervisord configuration: each process restarted whenever it exits (a few seconds of
    backoff when it keeps failing at once), logs interleaved on this terminal."""
    sections = [
        "[supervisord]\nnodaemon=true\nlogfile=/dev/stdout\nlogfile_maxbytes=0\n"
        f"pidfile={run_dir}/supervisord.pid\nchildlogdir={run_dir}\n",
        f"[unix_http_server]\nfile={run_dir}/supervisor.sock\n",
        f"[supervisorctl]\nserverurl=unix://{run_dir}/supervisor.sock\n",
        "[rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n",
    ]
    for name, command in processes:
        sections.append(
            f"[program:{name}]\n"
            f"command=/bin/bash -c {shlex.quote('exec ' + command).replace('%', '%%')}\n"
            f"directory={ROOT}\n"
            "autostart=true\nautorestart=true\n"
            f"startsecs={startsecs}\nstartretries=1000\n"
            "stopasgroup=true\nkillasgroup=true\nstopwaitsecs=20\n"
            "redirect_stderr=true\nstdout_logfile=/dev/stdout\nstdout_logfile_maxbytes=0\n"
        )
    return "\n".join(sections)


def main(argv: list[str]) -> None:
    procfile = Path(argv[1]) if len(argv) > 1 else ROOT / "Procfile"
    run_dir = Path(tempfile.mkdtemp(prefix="missionops-supervisor-"))
    conf = run_dir / "supervisord.conf"
    conf.write_text(supervisord_conf(read_procfile(procfile), run_dir=run_dir))
    supervisord = Path(sys.executable).with_name("supervisord")
    os.execv(str(supervisord), [str(supervisord), "-c", str(conf)])


if __name__ == "__main__":
    main(sys.argv)
