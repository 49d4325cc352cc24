"""_file_options: dest, owner, group and mode are checked before any API call."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest
from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ucs_cloud.fleet.plugins.module_utils import _file_options
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._errors import UcsValidationError

NOBODY = 65534
root_only = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (mknod, chown)")


# --- check_dest ---------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["", "   ", None])
def test_empty_dest_is_an_error(value: str | None) -> None:
    with pytest.raises(UcsValidationError, match=r"^dest must not be empty"):
        _file_options.check_dest(value)


@pytest.mark.parametrize("suffix", ["\n", " ", "\x00", "\r", "\t"])
def test_dest_is_taken_as_written(tmp_path: Path, suffix: str) -> None:
    with pytest.raises(UcsValidationError, match=r"^path '") as info:
        _file_options.check_dest(f"{tmp_path}/config{suffix}", "path")
    assert info.value.option == "path" and not list(tmp_path.iterdir())
    with pytest.raises(UcsValidationError, match=r"^dest ' "):
        _file_options.check_dest(f" {tmp_path}/config")


def test_trailing_slash_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(UcsValidationError, match="ends with '/': name a file"):
        _file_options.check_dest(f"{tmp_path}/kube/")


def test_dotdot_through_a_missing_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(UcsValidationError, match=r"goes through '\.\.' after .*/missing, which is not an existing directory"):
        _file_options.check_dest(f"{tmp_path}/missing/../config")


def test_dotdot_through_an_existing_directory_resolves_like_the_kernel(tmp_path: Path) -> None:
    (tmp_path / "real" / "sub").mkdir(parents=True)
    (tmp_path / "link").symlink_to(tmp_path / "real" / "sub")
    # link/.. is the parent of the link's target, as open(2) resolves it, not tmp_path.
    assert _file_options.check_dest(f"{tmp_path}/link/../config") == str(tmp_path / "real" / "config")
    assert _file_options.check_dest(f"{tmp_path}/./real//config") == str(tmp_path / "real" / "config")


def test_missing_parent_is_an_error_unless_it_will_be_created(tmp_path: Path) -> None:
    with pytest.raises(UcsValidationError, match=r"the directory .*/kube does not exist"):
        _file_options.check_dest(str(tmp_path / "kube" / "config"))
    assert _file_options.check_dest(str(tmp_path / "kube" / "x" / "config"), create_parent=True) == str(tmp_path / "kube" / "x" / "config")
    (tmp_path / "file").write_text("x")
    with pytest.raises(UcsValidationError, match="is not a directory"):
        _file_options.check_dest(str(tmp_path / "file" / "config"), create_parent=True)


def test_relative_and_tilde_paths_become_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    assert _file_options.check_dest("~/config") == str(tmp_path / "config")
    assert _file_options.check_dest("config") == str(tmp_path / "config")


def test_non_regular_dest_is_refused_naming_the_option_and_kind(special: dict[str, Path]) -> None:
    for kind, path in special.items():
        with pytest.raises(UcsValidationError, match=f"^path {path} is {kind.replace('(', '[(]').replace(')', '[)]')}; it must be a regular file"):
            _file_options.check_dest(str(path), "path")


@root_only
def test_dest_owned_by_another_user_is_refused_unless_that_user_is_the_owner(tmp_path: Path) -> None:
    dest = tmp_path / "config"
    dest.write_text("planted")
    os.chown(dest, NOBODY, NOBODY)
    with pytest.raises(UcsValidationError, match=r"owned by nobody \(uid 65534\), not by root \(uid 0\).*Set owner to nobody"):
        _file_options.check_dest(str(dest))
    assert _file_options.check_dest(str(dest), uid=NOBODY) == str(dest)


# --- owner, group, mode -------------------------------------------------------------------------


def test_owner_and_group_resolve_names_and_numbers() -> None:
    assert _file_options.resolve_owner(None) is None and _file_options.resolve_group(None) is None
    assert _file_options.resolve_owner("root") == 0 and _file_options.resolve_owner("0") == 0 and _file_options.resolve_owner(0) == 0
    assert _file_options.resolve_group("root") == 0 and _file_options.resolve_group("0") == 0


@pytest.mark.parametrize(("func", "option", "kind"), [(_file_options.resolve_owner, "owner", "user"), (_file_options.resolve_group, "group", "group")])
def test_unknown_or_empty_owner_and_group_are_errors(func, option: str, kind: str) -> None:
    with pytest.raises(UcsValidationError, match=f"^{option} 'nosuch-x': no such {kind} on this host"):
        func("nosuch-x")
    with pytest.raises(UcsValidationError, match=f"^{option} must not be empty"):
        func("")
    with pytest.raises(UcsValidationError, match="not a boolean"):
        func(True)


@pytest.mark.parametrize("value", ["root\n", " root", "root ", "ro\x00ot", "0\n", "\u0661", "1\u0662"])
@pytest.mark.parametrize(
    ("func", "option"), [(_file_options.resolve_owner, "owner"), (_file_options.resolve_group, "group"), (_file_options.group_id, "group")]
)
def test_owner_and_group_are_taken_as_written(func, option: str, value: str) -> None:
    """No stripping, and ASCII digits only (int() would read Arabic-Indic digits as a number)."""
    with pytest.raises(UcsValidationError, match=f"^{option} ") as info:
        func(value)
    assert info.value.option == option


def test_non_root_cannot_name_another_owner(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(UcsValidationError, match="only root can give a file to another user"):
        _file_options.resolve_owner("0")
    assert _file_options.resolve_owner("1000") == 1000


@pytest.mark.parametrize(("value", "expected"), [(None, 0o600), ("0600", 0o600), ("600", 0o600), ("0o640", 0o640), (0o600, 0o600), (420, 0o644), (0, 0)])
def test_modes_that_read_as_meant(value: object, expected: int) -> None:
    assert _file_options.parse_mode(value) == expected


@pytest.mark.parametrize(("value", "shown"), [(600, "01130"), (644, "01204"), (640, "01200"), (400, "0620"), (444, "0674")])
def test_integer_mode_that_is_not_the_octal_meant_is_refused_with_quoting_advice(value: int, shown: str) -> None:
    with pytest.raises(UcsValidationError) as info:
        _file_options.parse_mode(value)
    assert f"decimal number {value}, which is the mode {shown} (octal)" in info.value.msg
    assert f"write mode: '0{value}' (quoted)" in info.value.msg


@pytest.mark.parametrize(
    ("symbolic", "base", "expected"),
    [("u=rw,go=", 0o644, 0o600), ("g+r", 0o600, 0o640), ("a+rw", 0o600, 0o666), ("go-rwx", 0o755, 0o700), ("u=rw,g=u,o=", 0o000, 0o660)],
)
def test_symbolic_modes_keep_working(symbolic: str, base: int, expected: int) -> None:
    assert _file_options.parse_mode(symbolic, base=base) == expected


def test_symbolic_mode_without_class_honours_the_umask() -> None:
    previous = os.umask(0o022)
    try:
        assert _file_options.parse_mode("+rw", base=0o600) == 0o644
    finally:
        os.umask(previous)


def test_capital_x_counts_execute_bits_or_a_directory() -> None:
    assert _file_options.parse_mode("u+X", base=0o600) == 0o600
    assert _file_options.parse_mode("g+X", base=0o700) == 0o710
    assert _file_options.parse_mode("u+X", base=0o600, directory=True) == 0o700


@pytest.mark.parametrize("symbolic", ["u=rw,go=", "g+r", "a+rw", "go-rwx", "u=rw,g=u,o=", "u+s,g+s,o+t", "=r", "u=rwX,g=rX,o=", "o=g", "a-w+x"])
@pytest.mark.parametrize("base", [0o000, 0o600, 0o644, 0o755, 0o4711])
def test_symbolic_modes_are_computed_by_ansible_module(symbolic: str, base: int) -> None:
    """The one chmod parser is AnsibleModule's (identical in ansible-core 2.16 to 2.21)."""

    class Stat:
        st_mode = stat.S_IFREG | base

    assert _file_options.parse_mode(symbolic, base=base) == AnsibleModule._symbolic_mode_to_octal(Stat(), symbolic)


@pytest.mark.parametrize("value", ["xyz", "u=rwz", "0800", "", True, "u", "go", "u=rw,", ",u=rw", "ua=rw", "u=rw;o="])
def test_invalid_modes_are_refused(value: object) -> None:
    """chmod's grammar: an operator in every clause, no empty clause (Ansible alone takes "u" and
    "u=rw," as "change nothing")."""
    with pytest.raises(UcsValidationError, match=r"^mode "):
        _file_options.parse_mode(value)


@pytest.mark.parametrize("value", ["0600\n", "0600 ", " 0600", "u=rw,go=\n", "06\x0000", "\t0600"])
def test_modes_are_taken_as_written(value: str) -> None:
    with pytest.raises(UcsValidationError) as info:
        _file_options.parse_mode(value, "dir_mode")
    assert info.value.msg.startswith(f"dir_mode {value!r} ") and info.value.option == "dir_mode"
    assert "whitespace" in info.value.msg or "control character" in info.value.msg


def test_loose_modes_warn_naming_the_mode() -> None:
    assert _file_options.loose_mode_warning(0o600) is None and _file_options.loose_mode_warning(0o400) is None
    assert _file_options.loose_mode_warning(0o640) == "mode 0640 gives its group access to a file that holds a private key; '0600' keeps it to its owner"
    assert "mode 0666 gives its group and all other users access" in str(_file_options.loose_mode_warning(_file_options.parse_mode("a+rw")))
    assert "mode 0604 gives all other users access" in str(_file_options.loose_mode_warning(0o604))


# --- what stops a write in a directory ---------------------------------------------------------


def test_directory_problem_names_the_cause(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert _file_options.directory_problem(str(tmp_path)) is None
    monkeypatch.setattr(os, "access", lambda *_args, **_kwargs: False)
    assert _file_options.directory_problem(str(tmp_path)) == "is not writable"

    class ReadOnly:
        f_flag = os.ST_RDONLY

    monkeypatch.setattr(os, "statvfs", lambda _path: ReadOnly())
    assert _file_options.directory_problem(str(tmp_path)) == "is on a read-only file system"


def test_directory_writability_is_asked_for_the_effective_user(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """After become, the effective user writes; access() alone would ask about the real one."""
    asked = []
    monkeypatch.setattr(os, "access", lambda path, mode, **kwargs: asked.append(kwargs) or True)
    assert _file_options.directory_problem(str(tmp_path)) is None
    assert asked == [{"effective_ids": True}]


@root_only
def test_inode_flags_are_read_where_the_file_system_has_them(tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_text("x")
    if subprocess.run(["chattr", "+a", str(path)], capture_output=True, check=False).returncode != 0:
        pytest.skip("chattr does not work here")
    try:
        assert (_file_options.inode_flags(str(path)) or 0) & _file_options.FS_APPEND_FL
        assert not (_file_options.inode_flags(str(tmp_path), directory=True) or 0) & _file_options.FS_APPEND_FL
    finally:
        subprocess.run(["chattr", "-a", str(path)], check=True)
    assert _file_options.inode_flags(str(tmp_path / "missing")) is None
    os.mkfifo(tmp_path / "fifo")
    assert _file_options.inode_flags(str(tmp_path / "fifo")) is None, "never a special file"
