/** Shell completion scripts generated from the command tree, so they never drift from the real flags. */
export interface CompletionNode {
  name: string;
  description: string;
  options: Array<{ flag: string; description: string }>;
  subcommands: CompletionNode[];
}

const words = (items: string[]) => items.join(' ');
const quote = (text: string) => text.replace(/'/g, "'\\''");

function optionsOf(node: CompletionNode): string[] {
  return [...node.options.map((option) => option.flag), '--help'];
}

export function bashCompletion(root: CompletionNode): string {
  const cases: string[] = [];
  for (const command of root.subcommands) {
    if (command.subcommands.length > 0) {
      const inner = command.subcommands
        .map((sub) => `        ${sub.name}) opts="${words(optionsOf(sub))}" ;;`)
        .join('\n');
      cases.push(
        `    ${command.name})\n      if [[ $COMP_CWORD -eq 2 ]]; then opts="${words(command.subcommands.map((sub) => sub.name))}"; else\n      case "\${COMP_WORDS[2]}" in\n${inner}\n      esac; fi ;;`,
      );
    } else {
      cases.push(`    ${command.name}) opts="${words(optionsOf(command))}" ;;`);
    }
  }
  return `# bash completion for breakglass: eval "$(breakglass completion bash)"
_breakglass() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" opts=""
  if [[ $COMP_CWORD -eq 1 ]]; then
    COMPREPLY=( $(compgen -W "${words(root.subcommands.map((c) => c.name))} --help --version" -- "$cur") )
    return
  fi
  case "\${COMP_WORDS[1]}" in
${cases.join('\n')}
  esac
  COMPREPLY=( $(compgen -W "$opts" -- "$cur") )
}
complete -o default -F _breakglass breakglass
`;
}

export function zshCompletion(root: CompletionNode): string {
  const describe = (nodes: CompletionNode[]) =>
    nodes.map((node) => `'${quote(node.name)}:${quote(node.description.replace(/:/g, '\\:'))}'`).join(' ');
  const cases = root.subcommands.map((command) => {
    if (command.subcommands.length > 0) {
      const inner = command.subcommands
        .map((sub) => `        ${sub.name}) compadd -- ${words(optionsOf(sub))} ;;`)
        .join('\n');
      return `    ${command.name})\n      if (( CURRENT == 3 )); then\n        local -a subs; subs=(${describe(command.subcommands)}); _describe 'subcommand' subs\n      else\n      case $words[3] in\n${inner}\n      esac; fi ;;`;
    }
    return `    ${command.name}) compadd -- ${words(optionsOf(command))} ;;`;
  });
  return `#compdef breakglass
# zsh completion for breakglass: source <(breakglass completion zsh)
_breakglass() {
  if (( CURRENT == 2 )); then
    local -a commands; commands=(${describe(root.subcommands)})
    _describe 'command' commands
    return
  fi
  case $words[2] in
${cases.join('\n')}
  esac
  _files
}
compdef _breakglass breakglass
`;
}

export function fishCompletion(root: CompletionNode): string {
  const lines = [
    '# fish completion for breakglass: breakglass completion fish | source',
    'complete -c breakglass -f',
  ];
  for (const command of root.subcommands) {
    lines.push(
      `complete -c breakglass -n __fish_use_subcommand -a ${command.name} -d '${quote(command.description)}'`,
    );
    const condition = `__fish_seen_subcommand_from ${command.name}`;
    for (const sub of command.subcommands) {
      lines.push(`complete -c breakglass -n '${condition}' -a ${sub.name} -d '${quote(sub.description)}'`);
      for (const option of sub.options) {
        lines.push(
          `complete -c breakglass -n '${condition}; and __fish_seen_subcommand_from ${sub.name}' -l ${option.flag.slice(2)} -d '${quote(option.description)}'`,
        );
      }
    }
    for (const option of command.options) {
      lines.push(
        `complete -c breakglass -n '${condition}' -l ${option.flag.slice(2)} -d '${quote(option.description)}'`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}
