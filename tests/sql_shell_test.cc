// Runs the scripts of sql/ through the real sqlite3 shell, as the README tells users to,
// and compares what they print with sql/<name>.expected, so the demo and the README's
// examples cannot go stale.
//
// The scripts load the extension with `.load ./build/strata`, which works from the
// repository root with the default build directory. This test replaces every line that
// is exactly that with `.load <this build's strata.so>`, so it works from any build
// directory, and runs the shell in a scratch directory. Standard error must stay empty
// and the shell must exit with 0. In sanitizer builds the shell runs with the
// sanitizer runtime in LD_PRELOAD (tests/CMakeLists.txt passes its path).
//
// After changing a script (or the output it should produce), regenerate its expected
// output and review the difference:
//   STRATA_UPDATE_EXPECTED=1 build/tests/sql_shell_test && git diff sql/
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/sqlite_harness.h"
#include "tests/support/temp_dir.h"

namespace strata {
namespace {

constexpr const char* kLoadLine = ".load ./build/strata";

std::string ReadFile(const std::string& path, bool* ok = nullptr) {
  std::ifstream in(path, std::ios::binary);
  if (ok != nullptr) *ok = static_cast<bool>(in);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

bool WriteFile(const std::string& path, const std::string& contents) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << contents;
  return static_cast<bool>(out);
}

// `script` with every `.load ./build/strata` line pointing at this build's extension;
// *replaced counts them.
std::string WithThisBuildsExtension(const std::string& script, int* replaced) {
  std::istringstream in(script);
  std::string out, line;
  *replaced = 0;
  while (std::getline(in, line)) {
    if (line == kLoadLine) {
      line = std::string(".load ") + test::StrataExtensionPath();
      ++*replaced;
    }
    out += line + "\n";
  }
  return out;
}

struct ShellResult {
  int exit_status = -1;  // -1 if the shell did not exit normally
  std::string out;
  std::string err;
};

// Runs `sqlite3 -init /dev/null -batch [database]` in directory `cwd` with `script` on
// standard input.
ShellResult RunShell(const std::string& cwd, const std::string& script,
                     const std::string& database) {
  ShellResult result;
  const std::string in_path = cwd + "/shell-input.sql";
  const std::string out_path = cwd + "/shell-output.txt";
  const std::string err_path = cwd + "/shell-errors.txt";
  if (!WriteFile(in_path, script)) {
    ADD_FAILURE() << "cannot write " << in_path;
    return result;
  }
  std::vector<std::string> args = {STRATA_SQLITE3_SHELL, "-init", "/dev/null", "-batch"};
  if (!database.empty()) args.push_back(database);
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  // In sanitizer builds the shell must load the sanitizer runtime before strata.so.
  std::vector<std::string> environment;
  for (char** e = environ; *e != nullptr; e++) environment.push_back(*e);
  if (STRATA_SANITIZER_PRELOAD[0] != '\0') {
    environment.push_back(std::string("LD_PRELOAD=") + STRATA_SANITIZER_PRELOAD);
  }
  std::vector<char*> envp;
  for (std::string& e : environment) envp.push_back(e.data());
  envp.push_back(nullptr);

  pid_t pid = fork();
  if (pid == 0) {
    int in = open(in_path.c_str(), O_RDONLY);
    int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (in < 0 || out < 0 || err < 0 || chdir(cwd.c_str()) != 0) _exit(126);
    dup2(in, 0);
    dup2(out, 1);
    dup2(err, 2);
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  if (pid < 0) {
    ADD_FAILURE() << "fork failed";
    return result;
  }
  int status = 0;
  waitpid(pid, &status, 0);
  if (WIFEXITED(status)) result.exit_status = WEXITSTATUS(status);
  result.out = ReadFile(out_path);
  result.err = ReadFile(err_path);
  return result;
}

// A unified diff of expected and actual, for the failure message.
std::string Diff(const std::string& dir, const std::string& expected, const std::string& actual) {
  WriteFile(dir + "/expected.txt", expected);
  WriteFile(dir + "/actual.txt", actual);
  std::string command = "cd '" + dir + "' && diff -u expected.txt actual.txt 2>&1";
  std::string diff;
  if (FILE* pipe = popen(command.c_str(), "r")) {
    char buffer[4096];
    size_t n;
    while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) diff.append(buffer, n);
    pclose(pipe);
  }
  return diff;
}

class SqlShellTest : public ::testing::Test {
 protected:
  // Runs sql/<name>.sql on `database` (empty: an in-memory database) and checks its
  // output against sql/<name>.expected; returns the output.
  std::string CheckScript(const std::string& name, const std::string& database) {
    const std::string script_path = std::string(STRATA_SQL_DIR) + "/" + name + ".sql";
    const std::string expected_path = std::string(STRATA_SQL_DIR) + "/" + name + ".expected";
    bool ok = false;
    std::string script = ReadFile(script_path, &ok);
    EXPECT_TRUE(ok) << "cannot read " << script_path;
    int loads = 0;
    script = WithThisBuildsExtension(script, &loads);
    EXPECT_GE(loads, 1) << script_path << " must load the extension with a line `" << kLoadLine
                        << "`, as users do";

    ShellResult run = RunShell(dir_.path(), script, database);
    EXPECT_EQ(run.exit_status, 0) << name << ".sql: the shell failed; stderr:\n" << run.err;
    EXPECT_EQ(run.err, "") << name << ".sql wrote to standard error";
    if (std::getenv("STRATA_UPDATE_EXPECTED") != nullptr) {
      EXPECT_TRUE(WriteFile(expected_path, run.out)) << "cannot write " << expected_path;
      std::printf("updated %s\n", expected_path.c_str());
      return run.out;
    }
    std::string expected = ReadFile(expected_path, &ok);
    EXPECT_TRUE(ok) << "cannot read " << expected_path << " (STRATA_UPDATE_EXPECTED=1 creates it)";
    EXPECT_TRUE(run.out == expected)
        << name << ".sql printed something else than " << name << ".expected:\n"
        << Diff(dir_.path(), expected, run.out)
        << "If the new output is right: STRATA_UPDATE_EXPECTED=1 "
        << "<build>/tests/sql_shell_test";
    return run.out;
  }

  test::TempDir dir_{"sql-shell"};
};

TEST_F(SqlShellTest, DemoPrintsItsExpectedOutput) {
  std::string first = CheckScript("demo", "strata-demo.db");
  // The demo starts by dropping its tables, so running it again on the same database
  // prints the same.
  if (std::getenv("STRATA_UPDATE_EXPECTED") == nullptr) {
    std::string again = CheckScript("demo", "strata-demo.db");
    EXPECT_EQ(first, again);
  }
  // What the demo says at its end: the committed rows are still there on reopening.
  int loads = 0;
  ShellResult reopened =
      RunShell(dir_.path(),
               WithThisBuildsExtension(std::string(kLoadLine) +
                                           "\n"
                                           "SELECT count(*) FROM events;\n"
                                           "SELECT name FROM users WHERE id IN (42, 201);\n",
                                       &loads),
               "strata-demo.db");
  EXPECT_EQ(reopened.err, "");
  EXPECT_EQ(reopened.out, "5000\nuser042 (renamed)\nnewcomer\n");
}

TEST_F(SqlShellTest, ReadmeExamplesPrintTheirExpectedOutput) { CheckScript("readme_examples", ""); }

}  // namespace
}  // namespace strata
