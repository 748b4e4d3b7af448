/**
 * Runs in every test worker before its tests (jest `setupFiles`). The AWS SDK warns once per process that its
 * releases from 2027 need Node 22; on the Node 20 the suite also runs on, that warning is expected and says nothing
 * about the code under test. The SDK's own switch turns it off here and in the bot processes tests spawn, which
 * inherit this environment; the bot itself still warns operators who run it on Node 20.
 */
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
