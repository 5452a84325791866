#!/usr/bin/env python3
"""Reference renderings of chat templates for deepfuse's Jinja2 renderer.

Renders every chat template found in ../shared/data/tokenizers/*/tokenizer_config.json, the
SmolLM2 ChatML template (its folder has no tokenizer_config.json; the template is the one
published with HuggingFaceTB/SmolLM2-*-Instruct) and a set of feature templates written for
this test, with several conversations each, and stores inputs + expected outputs as JSON
fixtures in tests/fixtures/chat_template/.

The jinja2 environment is set up the way transformers' chat_template_utils does it (read, not
copied): ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True) with the
loopcontrols extension and a `{% generation %}` block tag (AssistantTracker, which renders its
body unchanged when no tracking is requested), a `tojson` filter that is json.dumps with
ensure_ascii=False by default (plus indent/separators/sort_keys), and globals raise_exception
(raises TemplateError with the template's message) and strftime_now (datetime.now().strftime).
The render call is template.render(messages=, tools=, documents=, add_generation_prompt=,
**special_tokens_map, **kwargs), as apply_chat_template does.

Usage: python3 tools/chat_template_refs.py   (from the repository root)
"""
import json
import os
import sys
from datetime import datetime

import jinja2
import jinja2.ext
from jinja2 import nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(ROOT, "..", "shared", "data", "tokenizers")
OUT = os.path.join(ROOT, "tests", "fixtures", "chat_template")


class GenerationBlock(jinja2.ext.Extension):
    """{% generation %}...{% endgeneration %}: renders the body as is (tracking inactive)."""

    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return nodes.CallBlock(self.call_method("_render_body"), [], [], body).set_lineno(lineno)

    def _render_body(self, caller):
        return caller()


def make_env():
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators,
                          sort_keys=sort_keys)

    def strftime_now(fmt):
        return datetime.now().strftime(fmt)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[GenerationBlock, jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


# --- conversations ---------------------------------------------------------------------------

TOOLS = [
    {"type": "function", "function": {
        "name": "get_weather", "description": "Get the current weather in a city",
        "parameters": {"type": "object", "properties": {
            "city": {"type": "string", "description": "City name, e.g. Zürich"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
            "required": ["city"]}}},
    {"type": "function", "function": {
        "name": "add", "description": "Add two numbers",
        "parameters": {"type": "object", "properties": {
            "a": {"type": "number"}, "b": {"type": "number", "default": 1.5}},
            "required": ["a", "b"]}}},
]

SIMPLE = [{"role": "user", "content": "Hello, who are you?"}]
WITH_SYSTEM = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "What is 2+2?"},
    {"role": "assistant", "content": "2+2 equals 4."},
    {"role": "user", "content": "And 3+3?"},
]
MULTI_TURN = [
    {"role": "user", "content": "  Tell me a joke.  \n"},
    {"role": "assistant", "content": "Why did the chicken cross the road?"},
    {"role": "user", "content": "Why?"},
    {"role": "assistant", "content": "To get to the other side!"},
]
NON_ASCII = [
    {"role": "system", "content": "Réponds en français. 你好 🌍"},
    {"role": "user", "content": "日本語で答えて: «quote» \"double\" 'single' \\ back\tslash\u2028"},
    {"role": "assistant", "content": "はい、わかりました。😀"},
    {"role": "user", "content": "Ça va? ß Ω"},
]
EMPTY = [
    {"role": "system", "content": ""},
    {"role": "user", "content": ""},
    {"role": "assistant", "content": ""},
    {"role": "user", "content": "x"},
]
TOOL_CALLS_STR = [
    {"role": "user", "content": "What's the weather in Paris and 2+3?"},
    {"role": "assistant", "content": None, "tool_calls": [
        {"type": "function", "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}},
        {"type": "function", "function": {"name": "add", "arguments": "{\"a\": 2, \"b\": 3}"}}]},
    {"role": "tool", "content": "{\"temp\": 21}"},
    {"role": "tool", "content": "5"},
    {"role": "assistant", "content": "It is 21°C in Paris and 2+3=5."},
    {"role": "user", "content": "Thanks!"},
]
TOOL_CALLS_STR_EMPTY = [dict(m, content="") if m["content"] is None else m for m in TOOL_CALLS_STR]
TOOL_CALLS_DICT = [
    {"role": "system", "content": "Use tools when needed."},
    {"role": "user", "content": "Weather in Zürich?"},
    {"role": "assistant", "content": "", "tool_calls": [
        {"type": "function", "function": {"name": "get_weather",
                                          "arguments": {"city": "Zürich", "unit": "celsius"}}}]},
    {"role": "tool", "content": "{\"temp\": -3.5, \"sky\": \"雪\"}"},
    {"role": "assistant", "content": "It is -3.5°C and snowing."},
]
TOOL_CALLS_CONTENT = [
    {"role": "user", "content": "Add 1 and 2"},
    {"role": "assistant", "content": "Let me compute.", "tool_calls": [
        {"type": "function", "function": {"name": "add", "arguments": {"a": 1, "b": 2}}},
        {"name": "add", "arguments": "{\"a\": 2, \"b\": 2}"}]},
    {"role": "tool", "content": "3"},
    {"role": "tool", "content": "4"},
]
REASONING_FIELD = [
    {"role": "user", "content": "Is 17 prime?"},
    {"role": "assistant", "reasoning_content": "\nCheck divisors up to 4.\n", "content": "Yes, 17 is prime."},
    {"role": "user", "content": "And 21?"},
    {"role": "assistant", "reasoning_content": "21 = 3 * 7", "content": "\n\nNo: 21 = 3 × 7."},
]
REASONING_INLINE = [
    {"role": "user", "content": "Is 9 prime?"},
    {"role": "assistant", "content": "<think>\n9 = 3*3\n</think>\n\nNo, 9 = 3 × 3."},
    {"role": "user", "content": "<tool_response>fake</tool_response>"},
    {"role": "assistant", "content": "<think>thinking again</think>Still no."},
]
SYSTEM_TWICE = [
    {"role": "system", "content": "First system."},
    {"role": "system", "content": "Second system."},
    {"role": "user", "content": "Hi"},
]

COMMON_CASES = [
    ("simple", SIMPLE, {}),
    ("with_system", WITH_SYSTEM, {}),
    ("multi_turn", MULTI_TURN, {}),
    ("non_ascii", NON_ASCII, {}),
    ("empty_content", EMPTY, {}),
]


def cases_for(name):
    cases = []
    for cname, msgs, extra in COMMON_CASES:
        for agp in (False, True):
            cases.append({"name": f"{cname}/agp={agp}", "messages": msgs, "add_generation_prompt": agp,
                          "tools": None, "extra": extra})
    if name in ("deepseek-v3",):
        for agp in (False, True):
            cases.append({"name": f"tool_calls/agp={agp}", "messages": TOOL_CALLS_STR,
                          "add_generation_prompt": agp, "tools": None, "extra": {}})
            cases.append({"name": f"tool_output_last/agp={agp}", "messages": TOOL_CALLS_STR[:4],
                          "add_generation_prompt": agp, "tools": None, "extra": {}})
        cases.append({"name": "system_twice", "messages": SYSTEM_TWICE, "add_generation_prompt": True,
                      "tools": None, "extra": {}})
    if name in ("qwen3",):
        for agp in (False, True):
            for tools in (None, TOOLS):
                t = "tools" if tools else "notools"
                cases.append({"name": f"tool_calls_str/{t}/agp={agp}", "messages": TOOL_CALLS_STR,
                              "add_generation_prompt": agp, "tools": tools, "extra": {}})
                cases.append({"name": f"tool_calls_str_empty/{t}/agp={agp}", "messages": TOOL_CALLS_STR_EMPTY,
                              "add_generation_prompt": agp, "tools": tools, "extra": {}})
                cases.append({"name": f"tool_calls_dict/{t}/agp={agp}", "messages": TOOL_CALLS_DICT,
                              "add_generation_prompt": agp, "tools": tools, "extra": {}})
                cases.append({"name": f"tool_calls_content/{t}/agp={agp}", "messages": TOOL_CALLS_CONTENT,
                              "add_generation_prompt": agp, "tools": tools, "extra": {}})
            cases.append({"name": f"reasoning_field/agp={agp}", "messages": REASONING_FIELD,
                          "add_generation_prompt": agp, "tools": None, "extra": {}})
            cases.append({"name": f"reasoning_inline/agp={agp}", "messages": REASONING_INLINE,
                          "add_generation_prompt": agp, "tools": None, "extra": {}})
        for et in (True, False):
            cases.append({"name": f"enable_thinking={et}", "messages": WITH_SYSTEM,
                          "add_generation_prompt": True, "tools": None, "extra": {"enable_thinking": et}})
        cases.append({"name": "tools_with_system", "messages": WITH_SYSTEM, "add_generation_prompt": True,
                      "tools": TOOLS, "extra": {"enable_thinking": False}})
    if name.startswith("feature_"):
        cases.append({"name": "tool_calls_dict", "messages": TOOL_CALLS_DICT, "add_generation_prompt": True,
                      "tools": TOOLS, "extra": {"date_string": "22 Nov 2026"}})
        cases.append({"name": "tool_calls_str", "messages": TOOL_CALLS_STR, "add_generation_prompt": False,
                      "tools": TOOLS, "extra": {}})
    return cases


# --- templates -------------------------------------------------------------------------------

SMOLLM2_CHATML = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}"
    "{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

FEATURE_DIR = os.path.join(ROOT, "tests", "fixtures", "chat_template", "feature_templates")


def load_templates():
    out = []
    for d in sorted(os.listdir(SHARED)):
        cfg_path = os.path.join(SHARED, d, "tokenizer_config.json")
        if not os.path.isfile(cfg_path):
            continue
        with open(cfg_path, encoding="utf-8") as f:
            cfg = json.load(f)
        tpl = cfg.get("chat_template")
        if tpl is None:
            continue
        # transformers passes the special-tokens map (set tokens only) as template variables.
        special = {}
        for key in ("bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token",
                    "mask_token"):
            v = cfg.get(key)
            if isinstance(v, dict):
                v = v.get("content")
            if isinstance(v, str):
                special[key] = v
        extra_tokens = cfg.get("additional_special_tokens")
        if isinstance(extra_tokens, list):
            special["additional_special_tokens"] = [
                t.get("content") if isinstance(t, dict) else t for t in extra_tokens]
        if isinstance(tpl, list):
            for entry in tpl:
                out.append((f"{d}.{entry['name']}", entry["template"], special))
        else:
            out.append((d, tpl, special))
    out.append(("smollm2-chatml", SMOLLM2_CHATML, {"bos_token": "<|im_start|>", "eos_token": "<|im_end|>"}))
    for fn in sorted(os.listdir(FEATURE_DIR)):
        if fn.endswith(".jinja"):
            with open(os.path.join(FEATURE_DIR, fn), encoding="utf-8") as f:
                out.append(("feature_" + fn[:-len(".jinja")], f.read(), {"bos_token": "<s>", "eos_token": "</s>"}))
    return out


# Small templates probing one semantic each (scoping, whitespace control, Python value
# printing, Unicode string handling, filters); rendered with WITH_SYSTEM and TOOLS.
SNIPPETS = [
    "{% set x = 1 %}{% for i in [1, 2] %}{{ x }}{% set x = 5 %}{{ x }}{% endfor %}{{ x }}",
    "{% if true %}{% set y = 'in-if' %}{% endif %}{{ y }}",
    "{% for m in messages %}{% set last = m.role %}{% endfor %}[{{ last }}]",
    "{% set ns = namespace(a=[]) %}{% for m in messages %}{% set ns.a = ns.a + [loop.index] %}{% endfor %}{{ ns.a }}",
    "{% set a, b = 1, 2 %}{{ a }}{{ b }}{% set t = 1, 'x' %}{{ t }}",
    "{% for a, b in [[1, 2], [3, 4]] %}{{ a * b }},{% endfor %}",
    "{% for m in messages %}{% for c in m.content[:3] %}{{ loop.index }}{{ c }}{% endfor %}|{{ loop.index }}{% endfor %}",
    "line1\n  {% if true %}\n  body\n  {% endif %}\nend\n",
    "a\r\nb\rc\n{% if true %}\r\nx{% endif %}\r\n",
    "  {{ 'v' }}  {% if true %}x{% endif %}  \n    {%- if true %}y{% endif %}",
    "{%- for m in messages -%}\n  {{ m.role }}\n{%- endfor -%}\n",
    "x  {#- c -#}  y {# keep #} z\n  {# own line #}\nw",
    "{{ 'a' }}\n{{ 'b' }}\n\n",
    "{% macro m(a, b='B', c=none) %}{{ a }}{{ b }}{{ c }}{% endmacro %}{{ m(1) }} {{ m(1, 2, 3) }} {{ m(a=0, c='C') }}",
    "{% macro outer() %}[{{ caller() }}]{% endmacro %}{% call outer() %}inside{% endcall %}",
    "{{ '\\u00e9\\U0001F600\\x41\\101\\t|\\q' }}",
    "{{ \"a\" 'b' \"c\" }}",
    "{{ 1.0 }} {{ 1.5e300 * 1e10 }} {{ 2.5e-5 }} {{ 100.0 / 3 }} {{ 1e22 }} {{ 123456789012345678.0 }} {{ 0.000123 }} {{ -1e-4 }}",
    "{{ 10 / 4 }} {{ 10 // 4 }} {{ -10 // 4 }} {{ 10 % -3 }} {{ 2 ** -1 }} {{ 7.5 // 2 }} {{ -7.5 % 2 }} {{ true + 1 }}",
    "{{ 'héllo wörld'|upper }} {{ 'ÀÉÎ'|lower }} {{ '日本語テキスト'[2:5] }} {{ '😀a😀'|length }} {{ 'añb'[1] }} {{ 'añb'[::-1] }}",
    "{{ 'ǅungla'|title }} {{ 'straße'.title() }} {{ \"they're bill's\".title() }} {{ 'a1b2 c3'.title() }}",
    "{{ '  a b  '.split(' ') }} {{ 'a  b'.split(' ', 1) }} {{ '\\ta\\nb  c '.split() }} {{ 'a b c'.rsplit(None, 1) }} {{ ''.split(',') }} {{ ''.split() }}",
    "{{ 'x</think>y</think>z'.split('</think>')[-1] }} {{ 'abc'.split('</think>')[0] }}",
    "{{ ' \\n x \\n '.strip() }}|{{ 'xyxhixy'.strip('xy') }}|{{ '\\u3000wide\\u00a0'.strip() }}|",
    "{{ messages|selectattr('role', 'in', ['user', 'system'])|map(attribute='content')|list }}",
    "{{ messages|map(attribute='nope', default='D')|list }} {{ messages|map('upper')|list|length }} {{ ['a', 'b']|map('upper')|join }}",
    "{{ [1, 0, 2, none]|select|list }} {{ [1, 2, 3, 4]|select('odd')|list }} {{ [1, 2, 3]|reject('gt', 1)|list }}",
    "{{ tools|map(attribute='function.name')|join(' & ') }} {{ tools|map(attribute='function.parameters.required.0')|list }}",
    "{{ messages|join(attribute='role', d='|') }} {{ [1, none, 'x']|join(',') }}",
    "{{ tools[0]|tojson }}",
    "{{ tools|tojson(indent=2) }}",
    "{{ {'b': 1, 'a': {'d': [], 'c': {}}}|tojson(sort_keys=true, indent=0) }}",
    "{{ 'ü\"\\\\/\\b\\f\\n\\r\\t\\x01\\x7f\\u2028'|tojson }} {{ 'ü'|tojson(ensure_ascii=true) }}",
    "{{ [1.5, -0.0, 1e100, 3, true, none]|tojson }} {{ {'k': [1, {'x': 'y'}]}|tojson(separators=(',', ':')) }}",
    "{{ messages[0] }}",
    "{{ messages[1]['content'] }} {{ messages[1].content }} {{ messages[1]['nope'] is defined }} {{ messages[-1].role }} {{ messages[10] is undefined }}",
    "{{ messages|length }} {{ messages[0]|length }} {{ 'abc'|length }} {{ {'a': 1}|length }} {{ messages|count }}",
    "{{ messages|first }}|{{ messages|last|tojson }}|{{ []|first }}|{{ 'abc'|first }}{{ 'abc'|last }}",
    "{{ 1 if none }}|{{ none if 1 else 2 }}|{{ 0 or '' or 'c' }}|{{ 1 and 2 }}|{{ 0 and 2 }}|{{ not none }}",
    "{{ 1 == true }} {{ 1 is sameas true }} {{ [1, 2] == [1, 2] }} {{ 'a' < 'b' }} {{ [1, 2] < [1, 3] }} {{ 2 > 1.5 }} {{ none == none }}",
    "{{ 'ab' in messages[0].content }} {{ 'content' in messages[0] }} {{ 1 in [1.0] }} {{ 'x' not in 'xyz' }}",
    "{{ true is boolean }} {{ 1 is integer }} {{ 1.0 is float }} {{ true is number }} {{ 'a' is iterable }} {{ 1 is iterable }} {{ {} is sequence }} {{ messages is sequence }} {{ raise_exception is callable }}",
    "{{ messages[0].role is lower }} {{ 'ABC' is upper }} {{ none is not none }} {{ 2 is not even }}",
    "{% for k, v in messages[0]|items %}{{ k }}={{ v }};{% endfor %} {% for k, v in {'x': 1}.items() %}{{ k }}{{ v }}{% endfor %}",
    "{{ messages[0].values()|list }} {{ messages[0].items()|list }}",
    "{{ {'b': 2, 'A': 1, 'a': 3}|dictsort }} {{ {'b': 2, 'a': 3}|dictsort(by='value', reverse=true) }}",
    "{{ ['b', 'B', 'a']|unique|list }} {{ ['b', 'B', 'a']|sort(case_sensitive=true) }} {{ tools|sort(attribute='function.name')|map(attribute='function.name')|list }}",
    "{{ 'Hello'|replace('l', '') }} {{ 'aaa'|replace('', '-') }} {{ 'x'|replace('x', 'yy', 0) }}",
    "{{ '  x  '|trim('x ') }} {{ '--x--'|trim('-') }} {{ 12|string ~ 3 }} {{ 1.0|string }} {{ none|string }}",
    "{{ '0x1A'|int }} {{ ' 42 '|int }} {{ '1_000'|int }} {{ '-5'|int }} {{ '3.9'|int }} {{ 'nan'|float }} {{ '1e3'|float }} {{ true|int }}",
    "{{ 'a\\nb\\n'|indent }}|{{ 'a\\nb'|indent('> ', first=true) }}|{{ ''|indent }}|",
    "{{ '<a href=\"x\">&</a>'|e }} {{ '<x>'|safe }}",
    "{% set s %}{% for m in messages %}{{ m.role[0] }}{% endfor %}{% endset %}{{ s }}{{ s|length }}",
    "{% for i in range(5) if i is odd %}{{ i }}{{ loop.length }}{% else %}none{% endfor %}",
    "{% for i in range(3) %}{% for j in range(3) %}{% if j > i %}{% break %}{% endif %}{{ i }}{{ j }} {% endfor %}{% endfor %}",
    "{% for x in 'ab' %}{{ loop.previtem }}-{{ x }}-{{ loop.nextitem }};{% endfor %}",
    "{% for x in {'k1': 1, 'k2': 2} %}{{ x }}{% endfor %}",
    "{{ (messages|selectattr('role', 'equalto', 'assistant')|list|length) * 10 }} {{ -messages|length }} {{ +3 }}",
    "{{ messages[1:]|map(attribute='role')|join(',') }} {{ messages[::-2]|length }} {{ messages[:-1][-1].role }} {{ [1,2,3][5:] }}",
    "{{ add_generation_prompt }} {{ bos_token }}{{ eos_token }} {{ documents }} {{ undefined_thing }}",
    "{{ 'abc'.find('c') }} {{ 'añc'.find('c') }} {{ 'a,b'.count(',') }} {{ '-'.join(['a', 'b']) }} {{ 'ab12'.isalnum() }} {{ '12'.isdigit() }} {{ ' '.isspace() }}",
    "{{ 'abc'.startswith(('x', 'a')) }} {{ ''.startswith('') }} {{ 'Abc'.capitalize() }} {{ 'ABC'.lower() }} {{ 'x\\ny'.splitlines() }}",
    "{{ dict(a=1, b='2') }} {{ namespace(x=1).x }} {{ range(3) is iterable }}",
    "{% set d = {'a': 1} %}{{ d.a }} {{ d['a'] }} {{ d.get('a') }} {{ d['items'] is defined }}",
    "{{ [1, [2, 3]] }} {{ (1,) }} {{ () }} {{ {'a': (1, 2)} }} {{ ['é', '\\n', \"'\"] }} {{ [1.0, -2.5e-7] }}",
    "{%- generation -%}  gen {{ 1 }}  {%- endgeneration %}",
    "{{ 'a' ~ 'b' * 2 }} {{ 1 + 2 * 3 - 4 / 2 }} {{ 2 ** 3 ** 2 }} {{ (1 + 2) * 3 }} {{ 7 % 4 * 2 }}",
    "{{ 'x' ~ 1 + 2 }}",
    "a {%- if true -%}\u00a0\u3000x\u2003{%- endif -%} b {{\u00a0'c'\u3000}}",
    "{{ messages[0].content.nope.deeper }}",
    "{{ raise_exception('custom failure: ' ~ messages|length) }}",
    "{% if messages[0].role == 'system' %}S{% elif messages[0].role == 'user' %}U{% else %}O{% endif %}{% if not messages %}E{% endif %}",
    "{% for m in messages %}{{ m.role }}{% if not loop.last %}, {% endif %}{% endfor %}",
    "{% set content = messages[0].content %}{% if '</think>' in content %}T{% else %}N{% endif %} {{ content.split('</think>')[0].rstrip('\\n').split('<think>')[-1].lstrip('\\n') }}",
]


def write_snippets(env):
    cases = []
    for src in SNIPPETS:
        rec = {"template": src}
        try:
            rec["expected"] = env.from_string(src).render(
                messages=WITH_SYSTEM, tools=TOOLS, documents=None, add_generation_prompt=True,
                bos_token="<s>", eos_token="</s>")
        except Exception as e:  # noqa: BLE001
            rec["expected_error"] = str(e)
            rec["expected_error_type"] = type(e).__name__
        cases.append(rec)
    path = os.path.join(OUT, "snippets.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"messages": WITH_SYSTEM, "tools": TOOLS, "jinja2_version": jinja2.__version__,
                   "cases": cases}, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"{path}: {len(cases)} snippets", file=sys.stderr)


def main():
    env = make_env()
    os.makedirs(OUT, exist_ok=True)
    write_snippets(env)
    for name, source, special in load_templates():
        tpl = env.from_string(source)
        fixture = {"template_name": name, "template": source, "special_tokens": special,
                   "jinja2_version": jinja2.__version__, "cases": []}
        for case in cases_for(name):
            kwargs = dict(special)
            kwargs.update(case["extra"])
            rec = dict(case)
            try:
                rec["expected"] = tpl.render(messages=case["messages"], tools=case["tools"], documents=None,
                                             add_generation_prompt=case["add_generation_prompt"], **kwargs)
            except Exception as e:  # noqa: BLE001 - any render failure is an expected error
                # TemplateError from raise_exception keeps its message; TypeError/UndefinedError
                # etc. only need to fail in deepfuse too (as InvalidArgument).
                rec["expected_error"] = str(e)
                rec["expected_error_type"] = type(e).__name__
            fixture["cases"].append(rec)
        path = os.path.join(OUT, name + ".json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump(fixture, f, ensure_ascii=False, indent=1)
            f.write("\n")
        print(f"{path}: {len(fixture['cases'])} cases", file=sys.stderr)


if __name__ == "__main__":
    main()
