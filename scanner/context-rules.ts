/**
 * The long tail of SaaS credentials with no recognisable prefix (Datadog's 32 hex, Algolia's
 * admin key, Heroku's UUID, Segment's write key...): recognised by context, a vendor's name and
 * a secret word on the same line as a random-looking value.
 */
import { characterClasses, shannonEntropy } from './entropy';
import { isEnvReference, isUuid } from './placeholders';
import type { Rule } from './types';
import { VENDOR_FORMAT, looksLikeCode } from './value-checks';

/** Lower-case vendor names as they appear in variable names, SDK calls and comments. */
const VENDORS = [
  'adafruit', 'airtable', 'algolia', 'amplitude', 'appdynamics', 'asana', 'auth0', 'bitly', 'braze', 'bugsnag',
  'buildkite', 'circleci', 'circle_token', 'clickup', 'cloudinary', 'codecov', 'cohere', 'coinbase', 'contentful',
  'coveralls', 'datadog', 'dd_api', 'dd_app', 'dd_client', 'deepgram', 'deepl', 'dynatrace', 'elastic', 'etherscan',
  'facebook', 'fb_app', 'finnhub', 'freshdesk', 'fullstory', 'gitter', 'gocardless', 'helpscout', 'honeycomb',
  'hubspot', 'infura', 'intercom', 'jfrog', 'artifactory', 'klaviyo', 'kucoin', 'launchdarkly', 'linkedin',   'logdna', 'loggly', 'mailjet', 'mandrill', 'mattermost', 'messagebird', 'mistral', 'mixpanel', 'nexmo',
  'vonage', 'okta', 'onesignal', 'openweather', 'opsgenie', 'pagerduty', 'paystack', 'pinecone', 'plaid', 'plivo',
  'posthog', 'postmark', 'pusher', 'rapidapi', 'razorpay', 'rollbar', 'salesforce', 'segment', 'sendbird', 'sendinblue',
  'brevo', 'shippo', 'sinch', 'snyk', 'splunk', 'statuspage', 'sumologic', 'travis', 'trello', 'twitch', 'twitter',
  'typeform', 'vercel', 'wakatime', 'zendesk', 'zapier', 'yandex', 'instagram', 'spotify', 'youtube',
  'mapbox', 'tomtom', 'flickr', 'dropbox', 'netlify', 'railway',
  'sentry', 'grafana', 'newrelic', 'new_relic', 'twilio', 'sendgrid', 'mailgun', 'mailchimp', 'stripe', 'paypal',
  'shopify', 'slack', 'discord', 'telegram', 'firebase', 'supabase', 'heroku', 'cloudflare', 'openai', 'anthropic',
  'huggingface', 'replicate', 'nvidia', 'groq', 'perplexity', 'elevenlabs', 'assemblyai',
];

const VENDOR_WORD = new RegExp(VENDORS.join('|'), 'i');

/** A secret word somewhere on the line: without one, a vendor's name near a random value is an id or a hash. */
const SECRET_WORD = /key|token|secret|passw|auth|credential|bearer/i;
/** Keys that vendors document as safe to publish. */
const PUBLIC_KEY_WORD = /public|publishable|search[-_ ]only|read[-_ ]only[-_ ]key|client[-_ ]side|site[-_ ]?key/i;

function plausibleVendorSecret(value: string, m: RegExpExecArray): boolean {
  // The vendor's name must be outside the value: random text contains short names by chance.
  const line = m.input.slice(0, m.index) + m.input.slice(m.index + value.length);
  if (!VENDOR_WORD.test(line) || !SECRET_WORD.test(line) || PUBLIC_KEY_WORD.test(line)) return false;
  // A vendor's own format belongs to its rule, which checks it; a truncated one is no secret here either.
  if (isEnvReference(value) || looksLikeCode(value) || VENDOR_FORMAT.test(value)) return false;
  if (!/[A-Za-z]/.test(value) || !(/[0-9]/.test(value) || (/[a-z]/.test(value) && /[A-Z]/.test(value)))) return false;
  if (!isUuid(value) && /^[a-z0-9]+(?:[-_./@:][a-z0-9]+)+$/.test(value)) return false; // package names, paths, versions
  if (/^[A-Z0-9_]+$/.test(value) && value.includes('_')) return false;
  if (/\.(?:json|ya?ml|js|ts|py|go|rb|php|html|css|png|svg|com|io|net|org)$/i.test(value)) return false;
  if (/^[0-9a-f]{40}$/.test(value) && /commit|sha|revision|hash/i.test(line)) return false;
  return characterClasses(value) >= 2 && shannonEntropy(value) >= 3.0;
}

export const CONTEXT_RULES: readonly Rule[] = [
  {
    id: 'vendor-keyed-secret',
    description: 'Random-looking value on a line naming a SaaS vendor and a key, token or secret',
    keywords: VENDORS,
    // 129 names, more than a third of all encoded forms if encoded; an encoded value under a
    // vendor's name is still read when its run holds another rule's keyword (`api_key`, `token`...).
    encodedKeywords: false,
    anchored: false,
    pattern: /(?<=[="'`(,]\s{0,3}|:\s{1,3})([A-Za-z0-9][A-Za-z0-9_\-+/.=]{15,199})(?![A-Za-z0-9_\-+/.=])/,
    validate: plausibleVendorSecret,
  },
];
