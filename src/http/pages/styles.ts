// The console stylesheet, served as /static/console.css (no CDN: the console works offline).
import { JOB_LABELS, PHASE_LABELS, QE_LABELS, type LabelStyle } from './labels.ts';
import { UPGRADE_LANES_CSS } from './upgrades.ts';

function labelRules(prefix: string, m: Record<string, LabelStyle>): string {
  const seen = new Set<string>();
  let out = '';
  for (const s of Object.values(m)) {
    if (seen.has(s.cls)) continue;
    seen.add(s.cls);
    out += `.label.${prefix}-${s.cls}{color:${s.fg};background:${s.bg};border-color:${s.border}}\n`;
  }
  return out;
}

const BASE = `
*,*::before,*::after{box-sizing:border-box}
[hidden]{display:none!important}
html{font-size:15px}
body{margin:0;font-family:system-ui,-apple-system,"Segoe UI","DejaVu Sans","Liberation Sans",Arial,sans-serif;color:#1f2328;background:#f6f8fa;line-height:1.45}
a{color:#0550ae;text-decoration:none}
a:hover,a:focus{text-decoration:underline}
a:focus-visible,button:focus-visible,select:focus-visible,input:focus-visible,textarea:focus-visible,summary:focus-visible{outline:2px solid #0969da;outline-offset:2px}
code,pre,.mono{font-family:"DejaVu Sans Mono","Liberation Mono",Menlo,Consolas,monospace;font-size:.85rem}
code{background:#eff1f3;padding:.05rem .3rem;border-radius:4px;overflow-wrap:anywhere}
pre{background:#f6f8fa;border:1px solid #d0d7de;padding:.6rem;border-radius:6px;overflow:auto;white-space:pre-wrap}
h1{font-size:1.6rem;margin:.4rem 0 .6rem;overflow-wrap:anywhere}
h2{font-size:1.25rem;margin:1.4rem 0 .5rem}
h3{font-size:1.05rem;margin:1.1rem 0 .4rem}
.topbar{background:#24292f;color:#fff;padding:.5rem 1rem;display:flex;align-items:center;gap:1rem;flex-wrap:wrap}
.topbar a{color:#fff;font-weight:600}
.topbar .brand{font-size:1.05rem;margin-right:auto}
.topbar nav a{font-weight:400;margin-right:.8rem}
.live{font-size:.8rem;color:#d0d7de}
.live[data-state="open"]::before{content:"● ";color:#4ac26b}
.live[data-state="closed"]::before{content:"○ ";color:#ff8182}
.auth{display:flex;gap:.4rem;align-items:center;font-size:.85rem}
.auth input{width:12rem;padding:.2rem .4rem;border-radius:4px;border:1px solid #57606a}
.auth button,.btn{font:inherit;font-size:.85rem;padding:.25rem .7rem;border-radius:6px;border:1px solid #8c959f;background:#f6f8fa;color:#1f2328;cursor:pointer}
.btn:hover{background:#eaeef2}
.btn.accept{border-color:#1a7f37;color:#116329}
.btn.reject{border-color:#cf222e;color:#a40e26}
.btn.primary{background:#1f883d;border-color:#1a7f37;color:#fff}
main{max-width:1320px;margin:0 auto;padding:1rem 1.2rem 3rem}
footer{max-width:1320px;margin:0 auto;padding:0 1.2rem 2rem;color:#57606a;font-size:.8rem}
.card{background:#fff;border:1px solid #d0d7de;border-radius:8px;padding:.8rem 1rem;margin:0 0 1rem}
.card>h2:first-child,.card>h3:first-child{margin-top:0}
.stream-head{display:flex;align-items:baseline;gap:.8rem;flex-wrap:wrap}
.stream-head h2{margin:0}
.summary{color:#424a53;font-size:.9rem;margin:.2rem 0 .5rem}
.message{font-size:.92rem;color:#1f2328}
.message p{margin:.2rem 0}
.muted{color:#57606a}
.small{font-size:.82rem}
.crumbs{font-size:.9rem;margin-bottom:.3rem}
.jump{font-size:.88rem;margin:.2rem 0 1rem}
table{border-collapse:collapse;width:100%;background:#fff;font-size:.88rem}
th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid #d8dee4;vertical-align:top}
th{background:#f6f8fa;font-weight:600;color:#24292f;white-space:nowrap}
tbody tr:hover{background:#f6f8fa}
td.name,td.time,td.links{white-space:nowrap}
tbody th{background:transparent;font-weight:400;white-space:normal}
table.overview{table-layout:fixed}
table.overview td.name{overflow:hidden;text-overflow:ellipsis}
table.overview col.c-name{width:36%}
table.overview col.c-phase{width:11%}
table.overview col.c-qe{width:12%}
table.overview col.c-time{width:13%}
table.jobs{table-layout:fixed}
table.jobs col.c-job{width:34%}
table.jobs col.c-state{width:14%}
table.jobs col.c-attempts{width:13%}
table.jobs col.c-log{width:8%}
table.jobs col.c-dur{width:11%}
table.jobs col.c-act{width:8%}
table.jobs th,table.jobs td{overflow-wrap:anywhere}
.failures>span,.failures>a{white-space:nowrap;display:inline-block}
td.pull{max-width:16rem}
td.pull code{display:inline-block;max-width:100%;overflow:hidden;text-overflow:ellipsis;white-space:nowrap;vertical-align:bottom}
.table-wrap{overflow-x:auto;border:1px solid #d0d7de;border-radius:6px}
.table-wrap table{border:0}
.label{display:inline-block;white-space:nowrap;font-size:.78rem;font-weight:600;line-height:1.3;padding:.08rem .45rem;border-radius:1rem;border:1px solid transparent}
.label .icon{font-weight:700}
.label-slot:empty{display:none}
.labels{display:inline-flex;gap:.3rem;flex-wrap:wrap;vertical-align:middle}
${labelRules('phase', PHASE_LABELS)}${labelRules('qe', QE_LABELS)}${labelRules('job', JOB_LABELS)}
.failures a,.failures span{margin-right:.4rem}
.fail{color:#a40e26}
.pend{color:#424a53}
.greyed{color:#57606a;font-style:italic}
.box{border-radius:6px;padding:.6rem .8rem;margin:.6rem 0;border:1px solid}
.box.warn{background:#fff8c5;border-color:#d4a72c;color:#3b2300}
.box.danger{background:#ffebe9;border-color:#ff8182;color:#5c0011}
.box.info{background:#ddf4ff;border-color:#54aeff;color:#0a3069}
.config-problems ul{margin:.3rem 0 0;padding-left:1.2rem}.config-problems code{white-space:pre-wrap;word-break:break-word}
.box h3{margin:0 0 .3rem;font-size:1rem}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem;margin:.4rem 0}
dl.facts dt{font-weight:600;color:#424a53}
dl.facts dd{margin:0;overflow-wrap:anywhere}
.filters{display:flex;gap:.6rem;align-items:end;flex-wrap:wrap;margin:.6rem 0}
.filters label{display:flex;flex-direction:column;font-size:.8rem;color:#424a53}
.filters select{font:inherit;font-size:.88rem;padding:.2rem .3rem}
.pager{display:flex;gap:.8rem;align-items:center;margin:.6rem 0;font-size:.88rem}
.banner{position:sticky;top:0;z-index:5;background:#ddf4ff;border:1px solid #54aeff;padding:.4rem .8rem;border-radius:6px;margin:.5rem 0}
.actions{display:flex;gap:.4rem;flex-wrap:wrap;margin:.4rem 0}
.row-actions{white-space:nowrap}
details.hidden-streams>summary{cursor:pointer;font-weight:600;margin:1rem 0}
details.attempts summary{cursor:pointer;color:#0550ae}
ul.plain{list-style:none;padding:0;margin:0}
.changed td{vertical-align:top}
.flash{position:fixed;right:1rem;bottom:1rem;background:#24292f;color:#fff;padding:.5rem .9rem;border-radius:6px;z-index:20}
.flash.error{background:#a40e26}
dialog{border:1px solid #d0d7de;border-radius:8px;padding:1rem 1.2rem;max-width:32rem;width:90vw}
dialog::backdrop{background:rgba(31,35,40,.45)}
dialog textarea{width:100%;min-height:5rem;font:inherit}
dialog .error{color:#a40e26;font-weight:600;margin:.4rem 0}
dialog menu{display:flex;justify-content:flex-end;gap:.5rem;padding:0;margin:.8rem 0 0}
.section-note{font-size:.85rem;color:#424a53}
.sr-only{position:absolute;width:1px;height:1px;padding:0;margin:-1px;overflow:hidden;clip:rect(0,0,0,0);border:0}
.notfound{text-align:center;padding:3rem 1rem}
@media (max-width:760px){td.pull,th.pull,td.links,th.links{display:none}}
`;

export const CONSOLE_CSS = BASE + UPGRADE_LANES_CSS;
