// Re-running the test program itself in a child process, with variables
// added to (or removed from) its environment.
//
// Several parts of the stack read their environment once per process (the
// model's WSYS_SIM_FAULTS and WSYS_SIM_MEMORY_BUDGET, the ICD's settings),
// and device loss or an injected fault must not leak into the next case.
// Such a case re-runs /proc/self/exe with one GoogleTest filter (or a flag
// of the program's own) and the variables it needs, and checks the exit
// status. Everything is prepared before fork(): the child only calls
// execve(), so a multi-threaded parent (the model's executor threads, the
// loader's) cannot deadlock it on a lock a vanished thread held.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

namespace wsys::test {

struct ChildEnv {
  // "NAME=value": added, replacing a variable of the same name (getenv
  // takes the first match, so the parent's must go).
  std::vector<std::string> set;
  // Variables whose names start with one of these are removed.
  std::vector<std::string> unset_prefixes;
};

// The parent's environment with `env` applied.
inline std::vector<std::string> child_environment(const ChildEnv& env) {
  std::vector<std::string> out;
  for (char** e = environ; *e; e++) {
    const std::string cur = *e;
    const std::string name = cur.substr(0, cur.find('='));
    bool drop = false;
    for (const std::string& v : env.set)
      if (v.substr(0, v.find('=')) == name) drop = true;
    for (const std::string& p : env.unset_prefixes)
      if (name.compare(0, p.size(), p) == 0) drop = true;
    if (!drop) out.push_back(cur);
  }
  for (const std::string& v : env.set) out.push_back(v);
  return out;
}

// Runs this program as `argv0` with `args` and the environment `env`
// applied; its exit status, or -1 if it could not start or did not exit
// (a signal).
inline int run_self(const std::string& argv0, const std::vector<std::string>& args,
                    const ChildEnv& env) {
  std::vector<std::string> env_strings = child_environment(env);
  std::vector<char*> envp;
  for (std::string& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<std::string> arg_strings;
  arg_strings.push_back(argv0);
  for (const std::string& a : args) arg_strings.push_back(a);
  std::vector<char*> argv;
  for (std::string& a : arg_strings) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    execve("/proc/self/exe", argv.data(), envp.data());
    _exit(127);
  }
  int status = 0;
  if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

}  // namespace wsys::test
