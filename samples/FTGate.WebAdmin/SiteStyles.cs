namespace FTGate.WebAdmin;

/// <summary>The one style sheet (served at /site.css; the CSP allows no inline styles).</summary>
internal static class SiteStyles
{
    public const string Css = """
        body { font-family: system-ui, sans-serif; margin: 0; color: #1d2733; background: #f4f6f8; }
        header { background: #1f3a5f; color: #fff; padding: .6rem 1.2rem; display: flex; align-items: center; gap: 1.5rem; }
        header a { color: #fff; text-decoration: none; }
        header .brand { font-weight: 700; }
        header nav { display: flex; gap: 1rem; flex: 1; }
        header form { margin: 0; }
        main { max-width: 60rem; margin: 1.5rem auto; background: #fff; padding: 1.2rem 1.6rem; border-radius: 6px; box-shadow: 0 1px 3px rgba(0,0,0,.12); }
        h1 { font-size: 1.4rem; margin-top: 0; }
        h2 { font-size: 1.1rem; border-bottom: 1px solid #dde3ea; padding-bottom: .3rem; }
        table { border-collapse: collapse; width: 100%; }
        th, td { text-align: left; padding: .4rem .5rem; border-bottom: 1px solid #e5e9ee; vertical-align: top; }
        label { display: block; font-weight: 600; margin-top: .8rem; }
        input[type=text], input[type=password], input[type=number], select { width: 100%; max-width: 32rem; padding: .35rem; box-sizing: border-box; }
        input[type=checkbox] { margin-right: .4rem; }
        .help { color: #5b6776; font-size: .85rem; margin: .15rem 0 0; }
        .buttons { margin-top: 1.2rem; display: flex; gap: .6rem; flex-wrap: wrap; }
        button { padding: .4rem .9rem; border: 1px solid #1f3a5f; background: #1f3a5f; color: #fff; border-radius: 4px; cursor: pointer; }
        button.secondary { background: #fff; color: #1f3a5f; }
        button.danger { background: #a12a2a; border-color: #a12a2a; }
        .ok { color: #17692c; }
        .bad { color: #a12a2a; }
        .warn { color: #8a5a00; }
        .box { border-radius: 4px; padding: .7rem 1rem; margin: 1rem 0; }
        .box.success { background: #e6f4ea; border: 1px solid #9ccfa9; }
        .box.error { background: #fbeaea; border: 1px solid #e0a3a3; }
        .box.info { background: #eef3f9; border: 1px solid #b9cbe0; }
        .validation li { color: #a12a2a; }
        code, .mono { font-family: ui-monospace, monospace; font-size: .9rem; word-break: break-all; }
        .tabs { display: flex; gap: .3rem; margin: 1rem 0 0; border-bottom: 2px solid #1f3a5f; }
        .tabs a { padding: .35rem .9rem; background: #e5e9ee; border-radius: 4px 4px 0 0; text-decoration: none; color: #1d2733; }
        .tabs a.active { background: #1f3a5f; color: #fff; }
        ul.steps { list-style: none; padding-left: 0; }
        ul.steps li { padding: .35rem 0; border-bottom: 1px solid #eef1f4; }
        ul.steps .mark { display: inline-block; width: 1.4rem; font-weight: 700; }
        details { margin-top: 1rem; }
        .tab { display: none; border: 1px solid #dde3ea; border-top: 0; padding: .2rem 1rem 1rem; }
        .tab:target { display: block; }
        .tabset:not(:has(.tab:target)) #general { display: block; }
        .counts td:first-child { width: 14rem; }
        .status-authorized { color: #17692c; }
        .status-notauthorized { color: #5b6776; }
        .status-reauthorizationrequired, .status-error { color: #a12a2a; }
        """;
}
